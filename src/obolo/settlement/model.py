"""Reconciliation rules: pure. The outside party's report and Obolo's books, each keyed by
the idempotency key Obolo sent, are compared line by line; every disagreement is named."""

from __future__ import annotations

import enum
from collections.abc import Iterable
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
