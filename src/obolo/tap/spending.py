"""What a card's owner bought by tapping, as the tap product records it (see
obolo.wallets.spending): each transit ride the moment it is tapped (the day's hold posts
them together at the close), what taps cost, and what open days have used of their holds."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from obolo.adapters.db.schema import providers
from obolo.adapters.db.schema_tap import tap_cards, tap_days, tap_taps, tap_terminals
from obolo.wallets.activity import Purchase
from obolo.wallets.spending import Spent


def tap_purchases(
    connection: Connection, user_id: str, start: int | None, before: int | None, limit: int
) -> list[Purchase]:
    """The person's transit rides (taps on a day's hold) recorded in [start, before),
    newest first. Retail taps are posted at once and show as their own ledger transfers."""
    query = (
        select(tap_taps.c.id, tap_taps.c.asset, tap_taps.c.charged, tap_taps.c.created_at,
               tap_days.c.status, providers.c.name, tap_terminals.c.name.label("terminal"))
        .join(tap_cards, tap_cards.c.id == tap_taps.c.card_id)
        .join(tap_days, tap_days.c.id == tap_taps.c.day_id)
        .join(providers, providers.c.id == tap_taps.c.merchant_id)
        .join(tap_terminals, tap_terminals.c.id == tap_taps.c.terminal_id)
        .where(tap_cards.c.user_id == user_id, tap_taps.c.charged > 0, tap_taps.c.status == "approved")
    )  # fmt: skip
    if start is not None:
        query = query.where(tap_taps.c.created_at >= start)
    if before is not None:
        query = query.where(tap_taps.c.created_at < before)
    rows = connection.execute(query.order_by(tap_taps.c.created_at.desc()).limit(limit)).all()
    return [
        Purchase(
            f"tap:{row.id}", int(row.created_at), row.asset, "tap", "charged", row.name, row.terminal,
            int(row.charged), row.status != "open",
        )
        for row in rows
    ]  # fmt: skip


def tap_spent(connection: Connection, user_id: str, since: int) -> Sequence[Spent]:
    """Every approved tap's charge since `since`, retail and transit."""
    rows = connection.execute(
        select(tap_taps.c.created_at, tap_taps.c.asset, tap_taps.c.charged, providers.c.name)
        .join(tap_cards, tap_cards.c.id == tap_taps.c.card_id)
        .join(providers, providers.c.id == tap_taps.c.merchant_id)
        .where(tap_cards.c.user_id == user_id, tap_taps.c.charged > 0, tap_taps.c.status == "approved",
               tap_taps.c.created_at >= since)
    ).all()  # fmt: skip
    return [Spent(int(r.created_at), r.name, r.asset, int(r.charged)) for r in rows]


def tap_held_spent(connection: Connection, user_id: str) -> dict[str, int]:
    """Per asset, what the person's open transit days accrued, not yet posted."""
    rows = connection.execute(
        select(tap_days.c.asset, func.sum(tap_days.c.accrued))
        .where(tap_days.c.user_id == user_id, tap_days.c.status == "open")
        .group_by(tap_days.c.asset)
    ).all()
    return {asset: int(total or 0) for asset, total in rows}


__all__ = ["tap_held_spent", "tap_purchases", "tap_spent"]
