"""What a reader bought, kept on the account: asked before paying (from any device or
client), told after a channel-paid view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from obolo.adapters.clock import NS_PER_SECOND
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.wallet_routes import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal

router = APIRouter(route_class=WriteRoute, tags=["paywall"])
Payer = Annotated[Principal, Depends(require_scope("payments:write"))]


class PurchaseOut(BaseModel):
    provider_id: str
    resource: str
    bought_at: int = Field(description="Unix seconds.")
    until: int = Field(description="Unix seconds: the end of its re-access period.")


class ReaccessOut(PurchaseOut):
    receipt: str = Field(
        description="Good once, for minutes: send as Payment: b64url({scheme: obolo-charge, receipt}); "
        "the provider's paywall opens the page for nothing."
    )


class ViewIn(Input):
    view: Annotated[
        str, Field(min_length=10, max_length=2000, description="The `view` of a Payment-Response.")
    ]


@router.get("/v1/purchases", response_model=ReaccessOut, responses=ERRORS)
def reaccess(
    platform: PlatformDep,
    principal: Payer,
    provider_id: Annotated[str, Query(min_length=1, max_length=36)],
    resource: Annotated[str, Query(min_length=1, max_length=500)],
) -> ReaccessOut:
    """Did you buy `resource` from this provider within its re-access period, on any
    device? Then a fresh re-access receipt opens it without paying again; otherwise 404
    not_purchased."""
    receipt, found = platform.purchases.reaccess_receipt(principal.user_id, provider_id, resource)
    return ReaccessOut(
        provider_id=found.provider_id,
        resource=found.resource,
        bought_at=found.bought_at // NS_PER_SECOND,
        until=found.until // NS_PER_SECOND,
        receipt=receipt,
    )


@router.post("/v1/purchases", status_code=201, response_model=PurchaseOut, responses=ERRORS)
def record_view(body: ViewIn, platform: PlatformDep, principal: Payer) -> PurchaseOut:
    """Keep a channel-paid view on the account, proved by the provider's view receipt
    (`view` in its Payment-Response), so your other devices do not pay for it again. The
    same view again changes nothing."""
    found = platform.purchases.record_view(principal.user_id, body.view)
    return PurchaseOut(
        provider_id=found.provider_id,
        resource=found.resource,
        bought_at=found.bought_at // NS_PER_SECOND,
        until=found.until // NS_PER_SECOND,
    )
