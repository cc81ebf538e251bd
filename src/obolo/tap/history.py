"""What tap transfers mean in a person's wallet history: retail taps, transit days held
then posted at the day's close (capped or not), week corrections, and the merchant's
side of each (see obolo.wallets.activity)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, or_, select

from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_tap import tap_cards, tap_days, tap_taps
from obolo.adapters.ids import derived_id
from obolo.ledger import Transfer
from obolo.wallets.activity import Described

_DAY_NS = 86_400 * 1_000_000_000


def _date(day: int) -> str:
    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)
    return f"{when.day} {when:%b}"


def describe_tap_transfers(
    connection: Connection, user_id: str, transfers: Sequence[Transfer]
) -> dict[int, Described]:
    """Days and taps of the person's cards (or the person's merchants) around these
    transfers' dates, matched by the ids they derive: two queries."""
    if not transfers:
        return {}
    first = min(t.timestamp for t in transfers) // _DAY_NS - 1
    last = max(t.timestamp for t in transfers) // _DAY_NS + 1
    out: dict[int, Described] = {}
    days = connection.execute(
        select(tap_days.c.id, tap_days.c.card_id, tap_days.c.merchant_id, tap_days.c.user_id, tap_days.c.day,
               tap_days.c.week, tap_days.c.hold_seq, tap_days.c.fares, tap_days.c.accrued, tap_days.c.taps,
               providers.c.name, providers.c.user_id.label("owner"))
        .join(providers, providers.c.id == tap_days.c.merchant_id)
        .where(tap_days.c.day.between(first - 7, last),
               or_(tap_days.c.user_id == user_id, providers.c.user_id == user_id))
    ).all()  # fmt: skip
    for row in days:
        capped = " (capped)" if row.fares > row.accrued else ""
        rides = f"{row.taps} ride" + ("" if row.taps == 1 else "s")
        text = f"{row.name} fares, {_date(row.day)}{capped}"
        if row.user_id == user_id:
            about = Described("tap", text, hold=f"Reserved for {text}", release=f"Released: {text}",
                              counterparty=row.name)  # fmt: skip
        else:
            about = Described(
                "settlement", f"Fares, {_date(row.day)}: {rides}", hold=f"Incoming fares, {rides}"
            )
        for seq in range(1, row.hold_seq + 1):
            out[derived_id("transfer", "tap-day", row.id, "hold", str(seq))] = about
        close = derived_id("transfer", "tap-day", row.id, "close")
        out[derived_id("transfer", str(close), "fee")] = Described("fee", f"Fee: fares, {_date(row.day)}")
        week = derived_id("transfer", "tap-week", row.card_id, row.merchant_id, str(row.week))
        out[week] = Described("tap", f"{row.name} fares, week of {_date(row.week)} (correction)")
    taps = connection.execute(
        select(tap_taps.c.id, tap_cards.c.user_id, providers.c.name, providers.c.user_id.label("owner"))
        .join(tap_cards, tap_cards.c.id == tap_taps.c.card_id)
        .join(providers, providers.c.id == tap_taps.c.merchant_id)
        .where(tap_taps.c.created_at.between(first * _DAY_NS, (last + 1) * _DAY_NS),
               tap_taps.c.day_id.is_(None), tap_taps.c.charged > 0,
               or_(tap_cards.c.user_id == user_id, providers.c.user_id == user_id))
    ).all()  # fmt: skip
    for tap in taps:
        charge = derived_id("transfer", "tap", tap.id)
        if tap.user_id == user_id:
            out[charge] = Described("tap", f"Tap at {tap.name}", counterparty=tap.name)
        else:
            out[charge] = Described("settlement", "Card tap")
            out[derived_id("transfer", str(charge), "fee")] = Described("fee", "Fee: card tap")
    return out
