"""The operator console: books check, platform accounts and fee revenue per asset,
people and providers search, webhook deliveries, background jobs. Operators only: 403 for anyone else."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from obolo.entrypoints.web.context import SignedIn, render, require_operator
from obolo.jobs.service import states as job_states
from obolo.reports import operator

router = APIRouter(include_in_schema=False)
DELIVERY_STATUSES = ("pending", "delivered", "failed")


@router.get("/operator")
def console(
    page: SignedIn,
    q: Annotated[str, Query(max_length=100)] = "",
    deliveries: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    require_operator(page)
    engine = page.platform.engine
    status = deliveries if deliveries in DELIVERY_STATUSES else None
    return render(
        page,
        "operator.html",
        title=page.t("Operator"),
        books=operator.books(engine),
        summaries=operator.summaries(engine, page.platform.ledger),
        q=q,
        people=operator.find_people(engine, q),
        providers=operator.find_providers(engine, q),
        deliveries=operator.deliveries(engine, status),
        delivery_status=status or "",
        delivery_statuses=DELIVERY_STATUSES,
        jobs=job_states(engine),
    )
