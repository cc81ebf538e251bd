"""Bank payouts: the port (`BankPayouts`) and a sandbox adapter that keeps its own record
of every payout, as a bank's statement would.

Sandbox behaviour: every valid IBAN is paid, except those whose last four characters
are "0002" (fails with `account_closed`) — a test IBAN for the unhappy path, e.g.
`DE89 3704 0044 0532 0130 00` pays and `GB33 BUKB 2020 1555 5555 55` pays too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, insert, select

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema import sandbox_bank_payouts
from obolo.adapters.ids import new_id
from obolo.adapters.reports import ExternalRecord, settlement_report


class PayoutStatus(enum.StrEnum):
    PAID = "paid"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    status: PayoutStatus
    failure_code: str | None = None


class BankPayouts(Protocol):
    def payout(self, idempotency_key: str, amount: int, asset: str, iban: str) -> Payout:
        """Send money once per idempotency key: a repeated key returns the first payout."""
        ...

    def settlement_report(self, since: int, until: int) -> list[ExternalRecord]:
        """Every payout the bank made in [since, until) (nanoseconds), as its statement says."""
        ...


class SandboxBank:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def payout(self, idempotency_key: str, amount: int, asset: str, iban: str) -> Payout:
        table = sandbox_bank_payouts
        with self.engine.begin() as connection:
            found = connection.execute(
                select(table).where(table.c.idempotency_key == idempotency_key)
            ).first()
            if found is not None:
                return Payout(found.id, PayoutStatus(found.status), found.failure_code)
            failure = "account_closed" if iban.endswith("0002") else None
            payout = Payout(new_id(), PayoutStatus.FAILED if failure else PayoutStatus.PAID, failure)
            connection.execute(
                insert(table).values(
                    id=payout.id,
                    idempotency_key=idempotency_key,
                    amount=amount,
                    asset=asset,
                    iban_last4=iban[-4:],
                    status=str(payout.status),
                    failure_code=failure,
                    created_at=self.clock(),
                )
            )
            return payout

    def settlement_report(self, since: int, until: int) -> list[ExternalRecord]:
        return settlement_report(self.engine, sandbox_bank_payouts, "paid", since, until)
