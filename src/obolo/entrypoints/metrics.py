"""Metrics in the Prometheus text format at /metrics: requests and their latency by
route, ledger batches and their size, SQL statements and commits, job runs, webhook
failures. With several server processes (PROMETHEUS_MULTIPROC_DIR set), /metrics adds up
what every process counted.

Also the request id: every response carries X-Request-ID (the caller's, if sane, else a
new one) and every log line written while serving it names it."""

from __future__ import annotations

import hmac
import os
import re
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from obolo.adapters.db.statements import observe_statements
from obolo.entrypoints.api.errors import problem
from obolo.ledger.observe import observe_batches

REQUESTS = Counter("obolo_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "obolo_http_request_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LEDGER_BATCHES = Counter("obolo_ledger_batches", "Ledger batches applied")
LEDGER_TRANSFERS = Counter("obolo_ledger_transfers", "Transfers in applied ledger batches")
LEDGER_SECONDS = Histogram(
    "obolo_ledger_batch_seconds",
    "Time to apply one ledger batch (inside its transaction)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
JOB_RUNS = Counter("obolo_job_runs", "Background job runs", ["job", "outcome"])
JOB_ITEMS = Counter("obolo_job_items", "Items a background job handled", ["job"])
WEBHOOK_FAILURES = Counter("obolo_webhook_failures", "Webhook delivery attempts that failed")
SQL_STATEMENTS = Counter(
    "obolo_sql_statements", "SQL statements sent to the database (an executemany or a COPY is one)"
)
DB_COMMITS = Counter("obolo_db_commits", "Database transactions committed")

log = structlog.get_logger("obolo.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _ledger_batch(transfers: int, seconds: float) -> None:
    LEDGER_BATCHES.inc()
    LEDGER_TRANSFERS.inc(transfers)
    LEDGER_SECONDS.observe(seconds)


def _statement(what: str) -> None:
    (SQL_STATEMENTS if what == "statement" else DB_COMMITS).inc()


def record_job(job: str, items: int, *, failed: bool = False) -> None:
    JOB_RUNS.labels(job, "failed" if failed else "ok").inc()
    if items:
        JOB_ITEMS.labels(job).inc(items)


def exposition() -> bytes:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))
    return bytes(generate_latest(REGISTRY))


class RequestMetrics:
    """Pure ASGI (no per-request task, unlike BaseHTTPMiddleware): request id, count,
    latency by route template, and one access log line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = [500]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(method, template, str(status[0])).inc()
            LATENCY.labels(method, template).observe(elapsed)
            log.info("request", method=method, route=template, status=status[0], ms=round(elapsed * 1000, 2))
            structlog.contextvars.unbind_contextvars("request_id")


def install(app: FastAPI, *, token: str | None = None) -> None:
    """Count and time every request, tag it with a request id, and serve /metrics
    (behind `token` as a bearer token when one is set)."""
    observe_batches(_ledger_batch)
    observe_statements(_statement)
    app.add_middleware(RequestMetrics)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        given = (request.headers.get("authorization") or "").encode()
        # Constant-time: the time a wrong guess takes says nothing about the token.
        if token and not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return problem("unauthorized", "a valid metrics token is required (Authorization: Bearer ...)")
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
