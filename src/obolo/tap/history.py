"""What tap transfers mean in a person's wallet history: retail taps, transit days held
then posted at the day's close (capped or not), week corrections, and the merchant's
side of each (see obolo.wallets.activity)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_tap import tap_cards, tap_days, tap_taps
from obolo.adapters.ids import derived_id
from obolo.ledger import Transfer
from obolo.wallets.activity import Day, Described, Text

_DAY_NS = 86_400 * 1_000_000_000


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
        day = Day(row.day)
        if row.user_id == user_id:
            about = Described.of(
                "tap",
                Text.of(
                    "{site} fares, {day} (capped)" if row.fares > row.accrued else "{site} fares, {day}",
                    site=row.name,
                    day=day,
                ),
                hold=Text.of("Reserved for {site} fares, {day}", site=row.name, day=day),
                release=Text.of("Released: {site} fares, {day}", site=row.name, day=day),
                counterparty=row.name,
            )
        else:
            rides = Text.of("{n} ride" if row.taps == 1 else "{n} rides", n=str(row.taps))
            about = Described.of(
                "settlement",
                Text.of("Fares, {day}: {rides}", day=day, rides=rides),
                hold=Text.of("Incoming fares, {rides}", rides=rides),
            )
        for seq in range(1, row.hold_seq + 1):
            out[derived_id("transfer", "tap-day", row.id, "hold", str(seq))] = about
        close = derived_id("transfer", "tap-day", row.id, "close")
        fee = Text.of("Fee: fares, {day}", day=day)
        out[derived_id("transfer", str(close), "fee")] = Described.of("fee", fee)
        week = derived_id("transfer", "tap-week", row.card_id, row.merchant_id, str(row.week))
        correction = Text.of("{site} fares, week of {day} (correction)", site=row.name, day=Day(row.week))
        out[week] = Described.of("tap", correction)
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
            out[charge] = Described.of("tap", Text.of("Tap at {site}", site=tap.name), counterparty=tap.name)
        else:
            out[charge] = Described.of("settlement", Text.of("Card tap"))
            out[derived_id("transfer", str(charge), "fee")] = Described.of("fee", Text.of("Fee: card tap"))
    return out
