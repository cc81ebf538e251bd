"""The ASGI application: one FastAPI app serving the API (and, later, the pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from obolo import __version__
from obolo.adapters.db.engine import READ_ONLY
from obolo.entrypoints.api import errors, ledger_routes
from obolo.ledger import Ledger


def create_app(ledger: Ledger) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ledger.close()

    app = FastAPI(
        title="Obolo",
        version=__version__,
        summary="Micropayments on one exact double-entry ledger.",
        lifespan=lifespan,
    )
    app.state.ledger = ledger
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """200 once the database answers."""
        with ledger.engine.connect().execution_options(**READ_ONLY) as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok"}

    app.include_router(ledger_routes.router)
    return app
