"""Obolo as an x402 facilitator (`/x402/supported`, `/x402/verify`, `/x402/settle`), for
resource servers whose x402 middleware (Express, Hono, Next.js, Go, FastAPI, Flask) is
pointed at `{server}/x402`. Bodies and answers are x402 v2's; a refused proof is a 200
answer saying so (isValid / success false, with the reason), as x402's clients expect."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field

from obolo.bootstrap import Platform
from obolo.entrypoints.api.auth import PlatformDep
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.paywall.facilitator import Facilitator

router = APIRouter(route_class=WriteRoute, prefix="/x402", tags=["x402 facilitator"])


class FacilitatorRequest(Input):
    """x402's VerifyRequest / SettleRequest: x402's own objects, as free-form JSON whose text
    may span lines (the text rule still holds); fields x402 adds later are let through."""

    model_config = ConfigDict(extra="allow")
    multiline = frozenset({"paymentPayload", "paymentRequirements"})
    x402Version: Annotated[int, Field(ge=1, le=2)]  # noqa: N815 -- x402's own field name
    paymentPayload: dict[str, Any]  # noqa: N815
    paymentRequirements: dict[str, Any]  # noqa: N815


def facilitator(platform: Platform) -> Facilitator:
    return Facilitator(platform.engine, platform.clock, platform.keys, platform.paywall)


@router.get("/supported")
def supported(platform: PlatformDep) -> dict[str, Any]:
    """The scheme and networks settled here: `batch-settlement` on `obolo:eur` and `obolo:usd`."""
    return facilitator(platform).supported()


@router.post("/verify")
def verify(body: FacilitatorRequest, platform: PlatformDep) -> dict[str, Any]:
    """Whether a payment is good now; nothing is spent."""
    return facilitator(platform).verify(body.model_dump())


@router.post("/settle")
def settle(body: FacilitatorRequest, platform: PlatformDep) -> dict[str, Any]:
    """Spend a payment, once (the same proof again answers the same success); the channel
    settles in the ledger later, in bulk."""
    return facilitator(platform).settle(body.model_dump())
