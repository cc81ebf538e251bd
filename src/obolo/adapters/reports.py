"""What outside parties report back: the lines of a processor's or a bank's settlement
report, which reconciliation compares with the ledger."""

from __future__ import annotations

from dataclasses import dataclass


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
