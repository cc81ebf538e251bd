"""Card processing: the port (`CardProcessor`) and a sandbox adapter that behaves like a
real processor's test mode, keeping its own record of every charge (its "settlement
report", which reconciliation compares with the ledger).

Sandbox test cards (any future expiry, any 3-4 digit CVC):
    4242 4242 4242 4242   succeeds
    4000 0000 0000 0002   declined (card_declined)
    4000 0000 0000 9995   declined (insufficient_funds)
Any other number that passes the Luhn check succeeds, as in real test modes.

The full card number never leaves `charge`: only the brand and last four digits are
kept, and nothing here logs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, insert, select

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema import sandbox_card_charges
from obolo.adapters.ids import new_id
from obolo.adapters.reports import ExternalRecord, settlement_report


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:  # never print the number or the CVC
        return f"Card(****{self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


class ChargeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    status: ChargeStatus
    brand: str
    last4: str
    decline_code: str | None = None


class CardProcessor(Protocol):
    def charge(self, idempotency_key: str, amount: int, asset: str, card: Card) -> Charge:
        """Charge the card once per idempotency key: a repeated key returns the first
        charge and charges nothing more."""
        ...

    def settlement_report(self, since: int, until: int) -> list[ExternalRecord]:
        """Every charge the processor made in [since, until) (nanoseconds), as its own
        books say: what reconciliation compares with the ledger."""
        ...


DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "card"


class SandboxCardProcessor:
    """A processor in test mode, with its own books in the `sandbox_card_charges` table."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def charge(self, idempotency_key: str, amount: int, asset: str, card: Card) -> Charge:
        table = sandbox_card_charges
        with self.engine.begin() as connection:
            found = connection.execute(
                select(table).where(table.c.idempotency_key == idempotency_key)
            ).first()
            if found is not None:
                return Charge(
                    found.id, ChargeStatus(found.status), found.brand, found.last4, found.decline_code
                )
            decline = DECLINES.get(card.number)
            charge = Charge(
                id=new_id(),
                status=ChargeStatus.DECLINED if decline else ChargeStatus.SUCCEEDED,
                brand=card_brand(card.number),
                last4=card.number[-4:],
                decline_code=decline,
            )
            connection.execute(
                insert(table).values(
                    id=charge.id,
                    idempotency_key=idempotency_key,
                    amount=amount,
                    asset=asset,
                    brand=charge.brand,
                    last4=charge.last4,
                    status=str(charge.status),
                    decline_code=decline,
                    created_at=self.clock(),
                )
            )
            return charge

    def settlement_report(self, since: int, until: int) -> list[ExternalRecord]:
        return settlement_report(self.engine, sandbox_card_charges, "succeeded", since, until)
