"""The ASGI application: one FastAPI app serving the API (and, later, the pages)."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import text

from obolo import __version__
from obolo.adapters.db.engine import READ_ONLY
from obolo.bootstrap import Platform
from obolo.entrypoints import metrics, web
from obolo.entrypoints.api import (
    account_routes,
    admin_routes,
    checkout_routes,  # checkout
    common,
    errors,
    identity_routes,
    invitation_routes,
    ledger_routes,
    openapi,
    payout_routes,
    paywall_routes,
    person_routes,
    provider_report_routes,
    purchase_routes,
    sms_routes,
    spending_routes,  # wallets: the spending breakdown
    tap_routes,  # tap
    task_routes,
    wallet_routes,
    webhook_routes,
    x402_routes,
)
from obolo.entrypoints.api.limits import BodySizeLimit
from obolo.entrypoints.web import checkout_pages, payment_handler, sms_simulator, widget_routes

DESCRIPTION = """
Micropayments on one exact double-entry ledger.

* Authenticate with `Authorization: Bearer <token>`: a session token from `POST /v1/sessions`
  or an API key from `POST /v1/api-keys`.
* Amounts are decimal strings at the asset's scale (EUR and USD have 6 decimals).
* Every POST, PUT, PATCH and DELETE that changes something for a signed-in caller accepts
  `Idempotency-Key`: a retry with the same key and body replays the first response and moves
  no money again; the same key with another body is 422 `idempotency_key_reused`, as is a key
  the same person used in a form of the web pages (one key, one request). The few
  routes a key does not apply to (sign-in, answers holding a new secret, terminals' taps and
  gateways' webhooks, deduplicated by their own ids) are listed with their reasons in
  docs/decisions/0006-one-write-path.md.
* Errors are RFC 9457 `application/problem+json` with a stable `code`.
* Text never holds control characters (tab and line breaks only in multi-line fields such
  as a task's instructions) or Unicode bidi controls: 422 `validation_error`. Ids in paths
  are UUIDs (ledger accounts: also decimals); anything else is 404.
"""


def create_app(platform: Platform) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far lives as long as the process: out of the collector's
        # sight, a full collection no longer walks it (measured: one 71 ms pause during
        # 10 s of taps without this, none over 2 ms with it).
        gc.collect()
        gc.freeze()
        yield
        platform.close()

    # `guard` first on every route, those added later included: ids and the text rule.
    app = FastAPI(
        title="Obolo",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(common.guard)],
    )
    openapi.install(app)
    app.state.platform = platform
    app.state.ledger = platform.ledger
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=platform.settings.max_body_bytes)
    metrics.install(app, token=os.environ.get("OBOLO_METRICS_TOKEN"))

    @app.get("/livez", tags=["health"])
    async def livez() -> dict[str, str]:
        """200 while the process serves HTTP (liveness: no database involved)."""
        return {"status": "ok"}

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """200 once the database answers."""
        with platform.engine.connect().execution_options(**READ_ONLY) as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    # Routes match in order, one by one: the hot paths first, ahead of two hundred others
    # (the terminals' taps, then payments). No path of one router is another's.
    app.include_router(tap_routes.router)  # tap
    app.include_router(wallet_routes.router)
    app.include_router(identity_routes.router)
    app.include_router(account_routes.router)  # the account its holder manages
    app.include_router(spending_routes.router)  # wallets: the spending breakdown
    app.include_router(invitation_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(paywall_routes.router)
    app.include_router(purchase_routes.router)  # purchases follow the reader to any device
    app.include_router(provider_report_routes.router)  # paywall: what a provider's pages earned
    app.include_router(x402_routes.router)  # x402: Obolo as a facilitator
    app.include_router(ledger_routes.router)
    app.include_router(task_routes.router)  # tasks
    app.include_router(payout_routes.router)  # settlement
    app.include_router(admin_routes.router)  # operator: manual adjustments
    app.include_router(person_routes.router)  # operator: one person's file, freezing
    app.include_router(checkout_routes.router)  # checkout: payment requests
    # sms: the gateway webhook and, on local runs, the simulator page
    app.include_router(sms_routes.router)
    app.include_router(sms_simulator.router)
    web.install(app)  # web: the pages and /static
    app.include_router(widget_routes.router)  # widget: /widget.js and the wallet's popup
    app.include_router(payment_handler.router)  # checkout: the wallet as a W3C payment handler
    app.include_router(checkout_pages.router)  # checkout: the hosted page
    return app


def from_environment() -> FastAPI:
    """The app over the database OBOLO_DATABASE_URL names: for `obolo serve --workers N`,
    whose processes each import it."""
    from obolo.bootstrap import build
    from obolo.entrypoints.logs import configure

    configure(json=True)
    return create_app(build())
