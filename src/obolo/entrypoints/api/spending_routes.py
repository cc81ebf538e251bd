"""A person's spending over HTTP: each wallet's balance broken down the way a reader asks
about it (what is free, what is held, what of that is already spent) and what went to each
site today and this month. Amounts are decimal strings at the asset's scale."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from obolo.entrypoints.api.auth import PlatformDep, require_scope
from obolo.entrypoints.api.common import ERRORS
from obolo.entrypoints.api.write_route import WriteRoute
from obolo.identity.model import Principal
from obolo.money import format_units

router = APIRouter(route_class=WriteRoute, prefix="/v1", tags=["wallets"])


class SiteSpendingOut(BaseModel):
    site: str
    today: str
    this_month: str


class SpendingOut(BaseModel):
    asset: str
    available: str = Field(description="what can be spent now")
    held: str = Field(description="reserved by holds (open tabs, channels, transit days, withdrawals)")
    held_spent: str = Field(
        description="of `held`, already used (views, rides), posted when the hold settles"
    )
    spent_today: str = Field(description="spent at sites since 00:00 UTC, net of refunds")
    spent_this_month: str = Field(
        description="spent at sites since the 1st of the month (UTC), net of refunds"
    )
    sites: list[SiteSpendingOut]


@router.get("/spending", responses=ERRORS)
def get_spending(
    platform: PlatformDep, principal: Annotated[Principal, Depends(require_scope("wallets:read"))]
) -> list[SpendingOut]:
    """Per wallet: available, held, of which already spent, and spending by site today and
    this month; the per-purchase detail is in `GET /v1/transactions`."""
    out = []
    for b in platform.wallets.breakdown(principal.user_id):
        asset = platform.wallets.asset(b.asset)
        out.append(
            SpendingOut(
                asset=b.asset,
                available=format_units(b.available, asset),
                held=format_units(b.held, asset),
                held_spent=format_units(b.held_spent, asset),
                spent_today=format_units(b.today, asset),
                spent_this_month=format_units(b.this_month, asset),
                sites=[
                    SiteSpendingOut(
                        site=s.site,
                        today=format_units(s.today, asset),
                        this_month=format_units(s.month, asset),
                    )
                    for s in b.sites
                ],
            )
        )
    return out
