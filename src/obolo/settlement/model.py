"""Settlement rules: pure. Reconciliation compares the outside party's report with Obolo's
books, each keyed by the idempotency key Obolo sent, line by line, naming every
disagreement; payouts add up what a period earned and size what can be paid out."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from obolo.adapters.reports import ExternalRecord


class BookState(enum.StrEnum):
    CREDITED = "credited"  # a top-up posted to the wallet
    PENDING = "pending"  # a payout held, not yet posted or voided
    POSTED = "posted"  # a payout posted: the money left the platform
    VOIDED = "voided"  # a payout released back to the wallet
    ABSENT = "absent"  # recorded, but nothing moved in the ledger


@dataclass(frozen=True, slots=True)
class BookEntry:
    key: str  # the idempotency key sent to the outside party (the movement id)
    amount: int
    asset: str
    state: BookState


class MismatchKind(enum.StrEnum):
    CHARGED_NOT_CREDITED = "charged_not_credited"
    CREDITED_NOT_CHARGED = "credited_not_charged"
    DECLINED_BUT_CREDITED = "declined_but_credited"
    PAID_NOT_POSTED = "paid_not_posted"
    POSTED_NOT_PAID = "posted_not_paid"
    FAILED_BUT_POSTED = "failed_but_posted"
    HELD_NOT_SENT = "held_not_sent"
    AMOUNT_DIFFERS = "amount_differs"


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: MismatchKind
    key: str
    detail: str


def _differs(record: ExternalRecord, entry: BookEntry) -> Mismatch | None:
    if (record.amount, record.asset) == (entry.amount, entry.asset):
        return None
    detail = f"theirs {record.amount} {record.asset}, ours {entry.amount} {entry.asset}"
    return Mismatch(MismatchKind.AMOUNT_DIFFERS, record.idempotency_key, detail)


def reconcile_charges(
    report: Iterable[ExternalRecord], books: dict[str, BookEntry], period: tuple[int, int]
) -> list[Mismatch]:
    """Card charges of `period` against top-ups. `report` may reach a little beyond the
    period on both sides (a charge just before midnight, its top-up just after): those
    lines only vouch for the books, they are judged with their own period. `books` holds
    every top-up of the period and any other the report names."""
    found: list[Mismatch] = []
    seen: set[str] = set()
    for record in report:
        seen.add(record.idempotency_key)
        if not period[0] <= record.created_at < period[1]:
            continue
        entry = books.get(record.idempotency_key)
        credited = entry is not None and entry.state is BookState.CREDITED
        if record.succeeded and not credited:
            detail = f"charge {record.id}: the card paid, the wallet was not credited"
            found.append(Mismatch(MismatchKind.CHARGED_NOT_CREDITED, record.idempotency_key, detail))
        elif not record.succeeded and credited:
            detail = f"charge {record.id} was declined"
            found.append(Mismatch(MismatchKind.DECLINED_BUT_CREDITED, record.idempotency_key, detail))
        elif record.succeeded and entry is not None and (mismatch := _differs(record, entry)):
            found.append(mismatch)
    for key, entry in books.items():
        if entry.state is BookState.CREDITED and key not in seen:
            found.append(
                Mismatch(MismatchKind.CREDITED_NOT_CHARGED, key, "no charge in the processor's report")
            )
    return found


def reconcile_payouts(
    report: Iterable[ExternalRecord], books: dict[str, BookEntry], period: tuple[int, int]
) -> list[Mismatch]:
    """Bank payouts of `period` against withdrawals (and any other payout the ledger
    holds), with the same reading of `report` and `books` as reconcile_charges."""
    found: list[Mismatch] = []
    seen: set[str] = set()
    for record in report:
        seen.add(record.idempotency_key)
        if not period[0] <= record.created_at < period[1]:
            continue
        entry = books.get(record.idempotency_key)
        posted = entry is not None and entry.state is BookState.POSTED
        if record.succeeded and not posted:
            state = entry.state if entry is not None else "absent"
            detail = f"payout {record.id} was paid; the ledger says {state}"
            found.append(Mismatch(MismatchKind.PAID_NOT_POSTED, record.idempotency_key, detail))
        elif not record.succeeded and posted:
            detail = f"payout {record.id} failed"
            found.append(Mismatch(MismatchKind.FAILED_BUT_POSTED, record.idempotency_key, detail))
        elif record.succeeded and entry is not None and (mismatch := _differs(record, entry)):
            found.append(mismatch)
    for key, entry in books.items():
        if key in seen:
            continue
        if entry.state is BookState.POSTED:
            found.append(Mismatch(MismatchKind.POSTED_NOT_PAID, key, "no payout in the bank's report"))
        elif entry.state is BookState.PENDING:
            found.append(
                Mismatch(MismatchKind.HELD_NOT_SENT, key, "held in the ledger, never sent to the bank")
            )
    return found


# -- payouts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Movement:
    """A ledger transfer as a payout statement sees it, from the wallet's side."""

    amount: int
    incoming: bool
    code: int
    kind: str  # "posted" (moved at once), "post" (a hold posted), "pending", "void"


@dataclass(frozen=True, slots=True)
class Statement:
    earned: int  # money received: payments, settled views, task rewards, fares
    fees: int  # platform fees this wallet paid
    topped_up: int  # money the owner put in by card
    spent: int  # money the owner paid out otherwise (payments made, earlier payouts)


def statement(movements: list[Movement], *, topup_code: int, fee_code: int) -> Statement:
    """Add up a period's settled movements. Holds still pending and holds released are
    not money that moved: only transfers posted at once and posted holds count."""
    earned = fees = topped_up = spent = 0
    for movement in movements:
        if movement.kind not in ("posted", "post"):
            continue
        if movement.incoming:
            if movement.code == topup_code:
                topped_up += movement.amount
            else:
                earned += movement.amount
        elif movement.code == fee_code:
            fees += movement.amount
        else:
            spent += movement.amount
    return Statement(earned, fees, topped_up, spent)


def payout_amount(available: int, fee_of: Callable[[int], int], maximum: int) -> int:
    """The most that can be paid out of `available` when the payout's fee comes on top
    (and no more than `maximum`): 0 if not even one unit fits."""
    amount = min(available, maximum)
    while amount > 0 and amount + fee_of(amount) > available:
        # The fee rises with the amount; step down by what overflows, at least one unit.
        amount -= max(1, amount + fee_of(amount) - available)
    return max(0, amount)
