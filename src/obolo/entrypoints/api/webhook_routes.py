"""Webhook endpoints over HTTP: register (secret shown once), list, disable, and see
every delivery with its attempts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from obolo.adapters.clock import iso
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import Input
from obolo.entrypoints.api.wallet_routes import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal
from obolo.webhooks.service import Endpoint

router = APIRouter(route_class=WriteRoute, prefix="/v1/webhook-endpoints", tags=["webhooks"])
Caller = Annotated[Principal, Depends(require_scope("webhooks:*"))]


class EndpointIn(Input):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    events: Annotated[list[Annotated[str, Field(max_length=60)]], Field(min_length=1, max_length=20)]


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: str
    disabled_at: str | None

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            created_at=iso(endpoint.created_at),
            disabled_at=iso(endpoint.disabled_at) if endpoint.disabled_at else None,
        )


class NewEndpointOut(EndpointOut):
    secret: str = Field(description="Signing secret for Obolo-Signature: shown this once.")


class AttemptOut(BaseModel):
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str
    attempts: list[AttemptOut]
    next_attempt_at: str
    created_at: str
    delivered_at: str | None


@router.post("", status_code=201, responses=ERRORS)
def create_endpoint(body: EndpointIn, platform: PlatformDep, caller: Caller) -> NewEndpointOut:
    """Subscribe a URL to event types (or "*"). Deliveries are signed with
    `Obolo-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<body>")>`."""
    endpoint, secret = platform.webhooks.create_endpoint(caller.user_id, body.url, body.events)
    return NewEndpointOut(**EndpointOut.of(endpoint).model_dump(), secret=secret)


@router.get("", responses=ERRORS)
def list_endpoints(platform: PlatformDep, caller: Caller) -> list[EndpointOut]:
    return [EndpointOut.of(e) for e in platform.webhooks.list_endpoints(caller.user_id)]


@router.delete("/{endpoint_id}", status_code=204, responses=ERRORS)
def disable_endpoint(
    endpoint_id: Annotated[str, Path(max_length=36)], platform: PlatformDep, caller: Caller
) -> Response:
    platform.webhooks.disable_endpoint(caller.user_id, endpoint_id)
    return Response(status_code=204)


@router.get("/{endpoint_id}/deliveries", responses=ERRORS)
def list_deliveries(
    endpoint_id: Annotated[str, Path(max_length=36)], platform: PlatformDep, caller: Caller
) -> list[DeliveryOut]:
    return [
        DeliveryOut(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status,
            attempts=[
                AttemptOut(at=iso(a.at), status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
                for a in d.attempts
            ],
            next_attempt_at=iso(d.next_attempt_at),
            created_at=iso(d.created_at),
            delivered_at=iso(d.delivered_at) if d.delivered_at else None,
        )
        for d in platform.webhooks.deliveries(caller.user_id, endpoint_id)
    ]
