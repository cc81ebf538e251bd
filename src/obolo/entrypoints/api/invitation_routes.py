"""Invitations over HTTP: claiming money someone sent to your email before you had an account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import Strict
from obolo.entrypoints.api.idempotency import IdempotencyKeyHeader
from obolo.entrypoints.api.wallet_routes import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["wallets"])


class ClaimIn(Strict):
    code: Annotated[
        str,
        Field(min_length=16, max_length=32, pattern=r"^[A-Za-z0-9 -]+$",
              description="the code in the invitation mailed to your address, e.g. ABCD-EFGH-JKLM-NPQR"),
    ]  # fmt: skip


class ClaimOut(BaseModel):
    claimed: list[str] = Field(description="the ids of the payments now in your wallet")


@router.post("/invitations/claim", status_code=201, response_model=ClaimOut, responses=ERRORS)
def claim_invitation(
    body: ClaimIn,
    request: Request,
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("wallets:write"))],
    idempotency_key: str | None = IdempotencyKeyHeader,
) -> Any:
    """Move the money waiting for your account's email address into your wallet, with the
    code mailed to that address. A wrong, used or expired code, or one mailed to another
    address, is 404 `invitation_not_found` alike."""

    claimed = platform.invitations.claim(principal.user_id, body.code)
    return ClaimOut(claimed=claimed)
