"""What a provider's pages earned, over HTTP: the views and revenue per page of one of its
sites (the dashboard's table), each page with the latest title the site gave it. Amounts
are decimal strings at the asset's scale."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from obolo.adapters.clock import iso
from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal
from obolo.money import format_units
from obolo.paywall.errors import ProviderNotFound
from obolo.reports import provider as reports
from obolo.reports.reader import DAY_NS

router = APIRouter(route_class=WriteRoute, prefix="/v1/providers", tags=["paywall"])


class PageOut(BaseModel):
    resource: str = Field(description="the page's path: views are counted per path")
    title: str | None = Field(
        description="the latest title the site sent for the path (`title` of its charges); null if none"
    )
    asset: str
    views: int = Field(description="views charged, refunded ones included")
    refunded: int
    revenue: str = Field(description="what the views charged, refunded ones excluded")


class PagesOut(BaseModel):
    since: str = Field(description="the report counts views charged from this moment on")
    pages: list[PageOut] = Field(description="highest revenue first, at most 50")


@router.get("/{provider_id}/pages", response_model=PagesOut, responses=ERRORS)
def pages(
    provider_id: Annotated[str, Path(max_length=36)],
    platform: PlatformDep,
    principal: Annotated[Principal, Depends(require_scope("provider:read"))],
    days: Annotated[int, Query(ge=1, le=366, description="how many days back")] = 30,
) -> PagesOut:
    """Views and revenue per page of one of your sites over the last `days` days (the
    dashboard's table). Another's site, or none, is 404 `provider_not_found`."""
    site = next(
        (s for s in reports.sites_of(platform.engine, principal.user_id) if s.id == provider_id), None
    )
    if site is None:
        raise ProviderNotFound("no such provider of yours")
    since = platform.clock() - days * DAY_NS
    return PagesOut(
        since=iso(since),
        pages=[
            PageOut(
                resource=r.resource,
                title=r.title,
                asset=r.asset,
                views=r.views,
                refunded=r.refunded,
                revenue=format_units(r.revenue, platform.wallets.asset(r.asset)),
            )
            for r in reports.resources(platform.engine, site, since)
        ],
    )
