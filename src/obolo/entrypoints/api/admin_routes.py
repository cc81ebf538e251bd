"""The operator's corrections over HTTP: a manual adjustment is a ledger transfer with a
reason, recorded in the audit trail; rulings on SMS undo requests made too late. Operators
only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from obolo.adapters.clock import iso
from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep, require_operator
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode, MovementOut
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal
from obolo.money import Amount, format_units
from obolo.sms import undo_requests
from obolo.wallets.adjustments import Direction, adjust

router = APIRouter(route_class=WriteRoute, prefix="/v1/admin", tags=["operator"])


class AdjustmentIn(Input):
    user: Annotated[str, Field(min_length=1, max_length=254, description="A user id, email or phone number.")]
    asset: AssetCode
    amount: AmountText
    direction: Literal["credit", "debit"]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.post("/adjustments", status_code=201, response_model=MovementOut, responses=ERRORS)
def create_adjustment(
    body: AdjustmentIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_operator)],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Credit or debit a wallet by hand, with a reason: a transfer against the platform's
    adjustments account, written with its audit entry in one transaction."""

    amount = Amount.parse(body.amount, platform.wallets.asset(body.asset))
    movement = adjust(
        platform.wallets, principal.user_id, body.user, amount, Direction(body.direction), body.reason,
        idempotency_key,
    )  # fmt: skip
    return MovementOut.of(movement, platform).model_dump(mode="json")


class UndoRequestOut(BaseModel):
    send_id: str
    ref: str
    sender_id: str
    recipient_id: str | None
    asset: str
    amount: str
    fee: str
    note: str | None
    status: str
    sent_at: str
    requested_at: str
    decision: Literal["reversed", "declined"] | None
    decided_at: str | None

    @classmethod
    def of(cls, r: undo_requests.UndoRequest, platform: Platform) -> UndoRequestOut:
        asset = platform.wallets.asset(r.asset)
        return cls(
            send_id=r.send_id, ref=r.ref, sender_id=r.sender_id, recipient_id=r.recipient_id, asset=r.asset,
            amount=format_units(r.amount, asset), fee=format_units(r.fee, asset), note=r.note,
            status=r.status,
            sent_at=iso(r.sent_at), requested_at=iso(r.requested_at),
            decision="reversed" if r.decision == "reversed" else "declined" if r.decision else None,
            decided_at=iso(r.decided_at) if r.decided_at else None,
        )  # fmt: skip


class UndoDecisionIn(Input):
    multiline = frozenset({"note"})
    decision: Literal["reverse", "decline"]
    note: Annotated[str | None, Field(max_length=2000)] = None


@router.get("/sms/undo-requests", responses=ERRORS)
def list_undo_requests(
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_operator)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[UndoRequestOut]:
    """SMS sends whose sender asked UNDO too late (after the window, or once the recipient
    spent) and the recipient did not return: waiting for a ruling, oldest first."""
    return [UndoRequestOut.of(r, platform) for r in undo_requests.open_requests(platform.sms, limit)]


@router.post("/sms/undo-requests/{send_id}/decision", responses=ERRORS)
def decide_undo_request(
    body: UndoDecisionIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_operator)],
    send_id: Annotated[str, Path(max_length=36)],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Rule once: `reverse` takes the amount back from the recipient's wallet (refused with
    `recipient_cannot_repay` when it cannot cover it, moving nothing) and refunds the fee;
    `decline` keeps the payment. Both people are told by SMS; the ruling is audited."""

    decided = undo_requests.decide(
        platform.sms, principal.user_id, send_id, reverse=body.decision == "reverse", note=body.note,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    return UndoRequestOut.of(decided, platform).model_dump(mode="json")
