"""What paywall transfers mean in a person's wallet history: channel and tab holds, their
settlement (views, refunds) and release (see obolo.wallets.activity). Passes are wallet
payments and are described there."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from obolo.adapters.db.schema import channel_refunds, channels, charges, providers, tabs
from obolo.adapters.ids import derived_id
from obolo.ledger import Transfer
from obolo.wallets.activity import Described, Text


def _views(used: int, refunded: int) -> Text:
    views = Text.of("{n} view" if used == 1 else "{n} views", n=str(used))
    if not refunded:
        return views
    if refunded == 1:  # its own message: Italian agrees the word with the number ("1 rimborsata")
        return Text.of("{views}, 1 refunded", views=views)
    return Text.of("{views}, {refunded} refunded", views=views, refunded=str(refunded))


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
            out[derived_id("transfer", row.id, "fee")] = _fee(row.name, views)
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
            out[derived_id("transfer", tab.id, "fee")] = _fee(tab.name, views)
    return out


def _fee(provider: str, views: Text) -> Described:
    text = Text.of("Fee: {site} — {views}", site=provider, views=views)
    return Described("fee", text.render(), text=text)


def _described(provider: str, views: Text, reader: bool) -> Described:
    if reader:
        text = Text.of("{site} — {views}", site=provider, views=views)
        hold = Text.of("Reserved for {site}", site=provider)
        release = Text.of("Released: unused at {site}", site=provider)
    else:
        text = Text.of("Settlement: {views}", views=views)
        hold = Text.of("Incoming, pending: {views}", views=views)
        release = Text.of("Reservation released")
    return Described(
        "paywall" if reader else "settlement", text.render(), hold=hold.render(), release=release.render(),
        counterparty=provider, text=text, hold_text=hold, release_text=release,
    )  # fmt: skip
