"""What outside parties report back: the lines of a processor's or a bank's settlement
report, which reconciliation compares with the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Table, select


@dataclass(frozen=True, slots=True)
class ExternalRecord:
    """One line of a settlement report (a card charge, a bank payout), keyed by the
    idempotency key Obolo sent with it."""

    id: str
    idempotency_key: str
    amount: int
    asset: str
    succeeded: bool
    created_at: int


def settlement_report(
    engine: Engine, table: Table, success: str, since: int, until: int
) -> list[ExternalRecord]:
    """The lines of a sandbox party's own books in [since, until): rows with `id`,
    `idempotency_key`, `amount`, `asset`, `status` (`success` when it went through) and
    `created_at`."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(table)
            .where(table.c.created_at >= since, table.c.created_at < until)
            .order_by(table.c.created_at)
        ).all()
    return [
        ExternalRecord(r.id, r.idempotency_key, r.amount, r.asset, r.status == success, r.created_at)
        for r in rows
    ]
