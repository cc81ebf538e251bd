"""The operator's corrections over HTTP: a manual adjustment is a ledger transfer with a
reason, recorded in the audit trail. Operators only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import get_platform, require_role, require_scope
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS, AmountText, AssetCode, MovementOut, _idempotent
from obolo.identity.model import Principal, Role
from obolo.money import Amount
from obolo.wallets.adjustments import Direction, adjust

router = APIRouter(prefix="/v1/admin", tags=["operator"])
PlatformDep = Annotated[Platform, Depends(get_platform)]


async def _operator(
    principal: Annotated[Principal, Depends(require_scope("*"))],
) -> Principal:
    return await require_role(Role.OPERATOR)(principal)


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
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
    principal: Annotated[Principal, Depends(_operator)],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Response:
    """Credit or debit a wallet by hand, with a reason: a transfer against the platform's
    adjustments account, written with its audit entry in one transaction."""

    def work() -> tuple[int, Any]:
        amount = Amount.parse(body.amount, platform.wallets.asset(body.asset))
        movement = adjust(
            platform.wallets, principal.user_id, body.user, amount, Direction(body.direction), body.reason,
            idempotency_key,
        )  # fmt: skip
        return 201, MovementOut.of(movement, platform).model_dump(mode="json")

    return _idempotent(platform, request, principal, idempotency_key, body, work)
