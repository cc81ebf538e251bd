"""What a reader bought on sites, as the paywall records it (see obolo.wallets.spending):
each charged view the moment it is charged (and its refund the moment it is refunded),
what passes cost, and what open tabs have used of their holds. Channels' views:
obolo.paywall.channel_spending."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from obolo.adapters.db.schema import charges, movements, providers, tabs
from obolo.wallets.activity import Purchase
from obolo.wallets.spending import Spent


def happened_within(column: ColumnElement[Any], start: int | None, before: int | None) -> ColumnElement[bool]:
    """`column` is set and in [start, before) (None: unbounded)."""
    clauses: list[ColumnElement[bool]] = [column.is_not(None)]
    if start is not None:
        clauses.append(column >= start)
    if before is not None:
        clauses.append(column < before)
    return and_(*clauses)


def bought_and_refunded(
    key: str,
    bought_at: int | None,
    refunded_at: int | None,
    amount: int,
    row: Any,
    settled: bool,
    start: int | None,
    before: int | None,
) -> list[Purchase]:
    """An item's purchase and, once refunded, its refund, each when it falls in [start,
    before); `row` names the site (`name`), the item (`title`, else `resource`) and `asset`."""
    out: list[Purchase] = []
    for at, refund in ((bought_at, False), (refunded_at, True)):
        if at is None or (start is not None and at < start) or (before is not None and at >= before):
            continue
        out.append(
            Purchase(
                key + (":refund" if refund else ""), int(at), row.asset, "paywall",
                "refunded" if refund else "charged", row.name, row.title or row.resource,
                -amount if refund else amount, settled,
            )
        )  # fmt: skip
    return out


def paywall_purchases(
    connection: Connection, user_id: str, start: int | None, before: int | None, limit: int
) -> list[Purchase]:
    """The reader's charged views and refunds with times in [start, before), newest first,
    each named by its title (the path when the provider gave none): one query for the
    charges made or refunded in the window."""

    def within(column: ColumnElement[Any]) -> ColumnElement[bool]:
        return happened_within(column, start, before)

    rows = connection.execute(
        select(charges.c.charge_id, charges.c.provider_id, charges.c.amount, charges.c.resource,
               charges.c.title, charges.c.created_at, charges.c.refunded_at, tabs.c.asset, tabs.c.status,
               providers.c.name)
        .join(tabs, tabs.c.id == charges.c.tab_id)
        .join(providers, providers.c.id == charges.c.provider_id)
        .where(charges.c.reader_id == user_id,
               or_(within(charges.c.created_at), within(charges.c.refunded_at)))
        .order_by(func.coalesce(charges.c.refunded_at, charges.c.created_at).desc())
        .limit(2 * limit)
    ).all()  # fmt: skip
    out: list[Purchase] = []
    for row in rows:
        out += bought_and_refunded(
            f"{row.provider_id}:{row.charge_id}", row.created_at, row.refunded_at, int(row.amount),
            row, row.status == "settled", start, before,
        )  # fmt: skip
    out.sort(key=lambda p: (-p.timestamp, p.id))
    return out[:limit]


def paywall_spent(connection: Connection, user_id: str, since: int) -> Sequence[Spent]:
    """Since `since`: charged views not refunded and passes bought (channels:
    obolo.paywall.channel_spending)."""
    out: list[Spent] = []
    viewed = connection.execute(
        select(charges.c.created_at, charges.c.amount, tabs.c.asset, providers.c.name)
        .join(tabs, tabs.c.id == charges.c.tab_id)
        .join(providers, providers.c.id == charges.c.provider_id)
        .where(
            charges.c.reader_id == user_id,
            charges.c.created_at >= since,
            charges.c.refunded_at.is_(None),
        )
    ).all()
    out += [Spent(int(r.created_at), r.name, r.asset, int(r.amount)) for r in viewed]
    # A pass is a payment to the provider's owner noted "pass: ..." (PaywallService.buy_pass).
    passes = connection.execute(
        select(movements.c.created_at, movements.c.amount, movements.c.asset,
               func.min(providers.c.name).label("name"))
        .join(providers, providers.c.user_id == movements.c.to_user_id)
        .where(movements.c.from_user_id == user_id, movements.c.kind == "payment",
               movements.c.status == "succeeded", movements.c.note.like("pass: %"),
               movements.c.created_at >= since)
        .group_by(movements.c.id, movements.c.created_at, movements.c.amount, movements.c.asset)
    ).all()  # fmt: skip
    out += [Spent(int(r.created_at), r.name, r.asset, int(r.amount)) for r in passes]
    return out


def paywall_held_spent(connection: Connection, user_id: str) -> dict[str, int]:
    """Per asset, what the reader's open tabs accrued (net of refunds), not yet settled."""
    rows = connection.execute(
        select(tabs.c.asset, func.sum(tabs.c.accrued))
        .where(tabs.c.reader_id == user_id, tabs.c.status == "open")
        .group_by(tabs.c.asset)
    ).all()
    return {asset: int(total or 0) for asset, total in rows}


__all__ = [
    "bought_and_refunded",
    "happened_within",
    "paywall_held_spent",
    "paywall_purchases",
    "paywall_spent",
]
