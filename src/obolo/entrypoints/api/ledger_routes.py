"""The ledger over HTTP, for operators and internal services: look up accounts and
their history, submit batches of transfers, run the books check.

Ids travel as strings (a UUID or a decimal integer: 128 bits do not fit a JSON number
safely) and amounts as decimal strings of integer units.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from obolo.entrypoints.api.common import ID_PATTERN, Input
from obolo.entrypoints.api.errors import ApiError
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.ledger import MAX_BATCH, BatchTooLarge, Ledger, LedgerBusy, Transfer, TransferFlags
from obolo.ledger.check import check_ledger
from obolo.ledger.model import Account

router = APIRouter(route_class=WriteRoute, prefix="/v1/ledger", tags=["ledger"])

# a decimal or a UUID: the same rule as every id in a path (common.ID_PATTERN), so the
# document and the answer agree wherever an id is written
IdText = Annotated[str, Field(min_length=1, max_length=40, pattern=ID_PATTERN)]
UnitsText = Annotated[str, Field(min_length=1, max_length=19, pattern=r"^[0-9]{1,19}$")]


def parse_id(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return uuid.UUID(text).int
    except ValueError as error:
        raise ApiError("validation_error", f"not an id: {text!r}") from error


class AccountOut(BaseModel):
    id: str
    asset: str
    code: int
    flags: int
    debits_posted: str
    credits_posted: str
    debits_pending: str
    credits_pending: str

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=str(account.id),
            asset=account.asset,
            code=account.code,
            flags=int(account.flags),
            debits_posted=str(account.debits_posted),
            credits_posted=str(account.credits_posted),
            debits_pending=str(account.debits_pending),
            credits_pending=str(account.credits_pending),
        )


class TransferIn(Input):
    id: IdText
    debit_account_id: IdText | None = None
    credit_account_id: IdText | None = None
    amount: UnitsText | None = None
    asset: Annotated[str, Field(min_length=3, max_length=12)] | None = None
    code: Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)] = 0
    flags: Annotated[int, Field(ge=0, le=int(max(TransferFlags)) * 2 - 1, strict=True)] = 0
    pending_id: IdText | None = None
    timeout: Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)] = 0
    metadata: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] | None = None

    def to_transfer(self) -> Transfer:
        return Transfer(
            id=parse_id(self.id),
            debit_account_id=None if self.debit_account_id is None else parse_id(self.debit_account_id),
            credit_account_id=None if self.credit_account_id is None else parse_id(self.credit_account_id),
            amount=None if self.amount is None else int(self.amount),
            asset=self.asset,
            code=self.code,
            flags=TransferFlags(self.flags),
            pending_id=None if self.pending_id is None else parse_id(self.pending_id),
            timeout=self.timeout,
            metadata=self.metadata,
        )


class TransferBatch(Input):
    transfers: Annotated[list[TransferIn], Field(min_length=1, max_length=MAX_BATCH)]


class TransferResults(BaseModel):
    results: list[str]


class CheckOut(BaseModel):
    ok: bool
    violations: list[str]


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
    """The ledger API is for operators: `Authorization: Bearer $OBOLO_ADMIN_TOKEN`."""
    expected = os.environ.get("OBOLO_ADMIN_TOKEN", "")
    if not expected:
        raise ApiError("admin_api_disabled", "set OBOLO_ADMIN_TOKEN to enable the ledger API")
    given = (authorization or "").removeprefix("Bearer ").strip()
    # Compare digests so the time taken says nothing about the token.
    if not hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    ):
        raise ApiError("unauthorized", "a valid operator token is required")


Admin = Depends(require_admin)
LedgerDep = Annotated[Ledger, Depends(get_ledger)]


@router.get("/accounts/{account_id}", dependencies=[Admin])
def get_account(account_id: IdText, ledger: LedgerDep) -> AccountOut:
    found = ledger.lookup_accounts([parse_id(account_id)])
    if not found:
        raise ApiError("not_found", "no such account")
    return AccountOut.of(found[0])


@router.get("/accounts/{account_id}/transfers", dependencies=[Admin])
def get_account_transfers(
    account_id: IdText,
    ledger: LedgerDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Field(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    transfers = ledger.account_transfers(parse_id(account_id), after=after, limit=limit)
    return [
        {
            "id": str(t.id),
            "debit_account_id": str(t.debit_account_id),
            "credit_account_id": str(t.credit_account_id),
            "amount": str(t.amount),
            "asset": t.asset,
            "code": t.code,
            "flags": int(t.flags),
            "pending_id": None if t.pending_id is None else str(t.pending_id),
            "timestamp": t.timestamp,
        }
        for t in transfers
    ]


@router.post("/transfers", dependencies=[Admin])
def post_transfers(batch: TransferBatch, ledger: LedgerDep) -> TransferResults:
    """Apply a batch atomically per linked chain; one result code per transfer."""
    try:
        results = ledger.create_transfers([item.to_transfer() for item in batch.transfers])
    except BatchTooLarge as error:
        raise ApiError("batch_too_large", str(error)) from error
    except LedgerBusy as error:
        raise ApiError("ledger_busy", "the ledger is busy; retry with the same ids") from error
    return TransferResults(results=[str(r) for r in results])


@router.get("/check", dependencies=[Admin])
def get_check(ledger: LedgerDep) -> CheckOut:
    violations = check_ledger(ledger.engine)
    return CheckOut(ok=not violations, violations=[str(v) for v in violations])
