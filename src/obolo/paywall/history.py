"""What paywall transfers mean in a person's wallet history: channel and tab holds, their
settlement (views, refunds) and release (see obolo.wallets.activity). Passes are wallet
payments and are described there."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from obolo.adapters.db.schema import channel_refunds, channels, charges, providers, tabs
from obolo.adapters.ids import derived_id
from obolo.ledger import Transfer
from obolo.wallets.activity import Described


def _views(used: int, refunded: int) -> str:
    text = f"{used} view" + ("" if used == 1 else "s")
    return f"{text}, {refunded} refunded" if refunded else text


def describe_paywall_transfers(
    connection: Connection, user_id: str, transfers: Sequence[Transfer]
) -> dict[int, Described]:
    """Channels and tabs found by their hold ids; views and refunds counted per hold:
    four queries at most, whatever the number of transfers."""
    # A settlement's fee is asked for with the hold its settlement posted (the same page).
    keys = [t.id.to_bytes(16, "big") for t in transfers if t.pending_id is None]
    if not keys:
        return {}
    out: dict[int, Described] = {}
    found = connection.execute(
        select(channels.c.id, channels.c.hold_id, channels.c.payer_id, channels.c.claimed_index,
               providers.c.name)
        .join(providers, providers.c.id == channels.c.provider_id)
        .where(channels.c.hold_id.in_(keys))
    ).all()  # fmt: skip
    if found:
        refunds: dict[str, int] = dict(
            connection.execute(
                select(channel_refunds.c.channel_id, func.count())
                .where(channel_refunds.c.channel_id.in_([r.id for r in found]))
                .group_by(channel_refunds.c.channel_id)
            ).all()
        )
        for row in found:
            views = _views(row.claimed_index, int(refunds.get(row.id, 0)))
            out[int.from_bytes(row.hold_id, "big")] = _described(row.name, views, row.payer_id == user_id)
            out[derived_id("transfer", row.id, "fee")] = Described("fee", f"Fee: {row.name} — {views}")
    opened = connection.execute(
        select(tabs.c.id, tabs.c.hold_id, tabs.c.reader_id, providers.c.name)
        .join(providers, providers.c.id == tabs.c.provider_id)
        .where(tabs.c.hold_id.in_(keys))
    ).all()
    if opened:
        counts = {
            row.tab_id: (int(row.views), int(row.refunded))
            for row in connection.execute(
                select(charges.c.tab_id, func.count().label("views"),
                       func.count(charges.c.refunded_at).label("refunded"))
                .where(charges.c.tab_id.in_([r.id for r in opened]))
                .group_by(charges.c.tab_id)
            ).all()
        }  # fmt: skip
        for tab in opened:
            views = _views(*counts.get(tab.id, (0, 0)))
            out[int.from_bytes(tab.hold_id, "big")] = _described(tab.name, views, tab.reader_id == user_id)
            out[derived_id("transfer", tab.id, "fee")] = Described("fee", f"Fee: {tab.name} — {views}")
    return out


def _described(provider: str, views: str, reader: bool) -> Described:
    if reader:
        return Described(
            "paywall", f"{provider} — {views}", hold=f"Reserved for {provider}",
            release=f"Released: unused at {provider}", counterparty=provider,
        )  # fmt: skip
    return Described(
        "settlement", f"Settlement: {views}", hold=f"Incoming, pending: {views}",
        release="Reservation released", counterparty=provider,
    )  # fmt: skip
