"""Deliver due webhooks: claim, commit, POST (outside any transaction), record.

On PostgreSQL deliveries are claimed with `FOR UPDATE SKIP LOCKED` and leased (their
next attempt pushed into the future) before the HTTP call, so any number of workers can
run without sending one delivery twice at the same time. A failed attempt is retried
with exponential backoff and jitter, up to MAX_ATTEMPTS; then the delivery fails.

One slow or dead endpoint must not hold up anyone else's: a round claims at most
PER_ENDPOINT deliveries of each endpoint and sends them all at once (at most CONCURRENCY
in flight), so a round lasts one timeout, not one per endpoint. An endpoint whose last
CIRCUIT_AFTER attempts all failed has its circuit opened: its pending deliveries wait
out a cool-off that doubles with the failures in a row, then PER_ENDPOINT of them probe it.

What the endpoint's owner is told of a failure is only "HTTP <status>", "timeout",
"connection failed" or "refused by policy": the deliveries list must not map the
server's network for them.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import Connection, Engine, func, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.egress import REFUSED, failure_reason
from obolo.adapters.ids import new_id
from obolo.adapters.secretbox import SecretBox
from obolo.sdk.webhooks import sign

MAX_ATTEMPTS = 12
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 6 * 3600
LEASE_SECONDS = 60
TIMEOUT_SECONDS = 5.0
CONCURRENCY = 16  # requests in flight at once, over all endpoints
PER_ENDPOINT = 2  # deliveries of one endpoint claimed (and in flight) per round
CIRCUIT_AFTER = 5  # failed attempts in a row that open an endpoint's circuit
CIRCUIT_WINDOW = 40  # recent attempts looked at to count the failures in a row
_SHOWN = re.compile(r"HTTP [0-9]{3}|timeout|connection failed|" + re.escape(REFUSED))

log = structlog.get_logger("obolo.webhooks")


@dataclass(frozen=True, slots=True)
class _Job:
    delivery_id: str
    endpoint_id: str
    attempts: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> int:
    """30 s, 60 s, 120 s, ... capped at 6 h, with up to 10% jitter."""
    base = min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)
    return int(base * (1 + (rng or random).random() * 0.1))


def shown_error(stored: str | None) -> str | None:
    """A stored attempt's error as its owner may see it (rows written before errors were
    cut down to these few words say only "connection failed")."""
    if stored is None or _SHOWN.fullmatch(stored):
        return stored
    return "connection failed"


def circuit_seconds(failures_in_a_row: int) -> int:
    """How long an endpoint is left alone: 30 s at CIRCUIT_AFTER failures in a row,
    doubling with each further one, at most 6 h."""
    doublings = min(max(failures_in_a_row - CIRCUIT_AFTER, 0), 20)
    return min(BASE_DELAY_SECONDS << doublings, MAX_DELAY_SECONDS)


def _claim(engine: Engine, secrets: SecretBox, now: int, limit: int, per_endpoint: int) -> list[_Job]:
    due = (webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now)
    # The first `per_endpoint` due deliveries of every endpoint: a flooded endpoint cannot
    # fill a round (a window function, so outside the locking query: PostgreSQL refuses both).
    ranked = (
        select(
            webhook_deliveries.c.id,
            func.row_number()
            .over(
                partition_by=webhook_deliveries.c.endpoint_id,
                order_by=(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id),
            )
            .label("place"),
        )
        .where(*due)
        .subquery()
    )
    firsts = select(ranked.c.id).where(ranked.c.place <= per_endpoint)

    def work(connection: Connection) -> list[_Job]:
        query = (
            select(
                webhook_deliveries.c.id,
                webhook_deliveries.c.endpoint_id,
                webhook_deliveries.c.attempts,
                webhook_endpoints.c.url,
                webhook_endpoints.c.secret_encrypted,
                webhook_endpoints.c.disabled_at,
                events.c.id.label("event_id"),
                events.c.type,
                events.c.payload,
            )
            .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
            .join(events, events.c.id == webhook_deliveries.c.event_id)
            .where(*due, webhook_deliveries.c.id.in_(firsts))
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
        )
        if not is_sqlite(engine):
            query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
        found = connection.execute(query).all()
        # Disabling an endpoint cancels its pending deliveries; another process may still
        # make one for it for a moment (it reuses the endpoints it read: `outbox`).
        cancelled = [r.id for r in found if r.disabled_at is not None]
        if cancelled:
            connection.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_(cancelled))
                .values(status="cancelled")
            )
        rows = [r for r in found if r.disabled_at is None]
        if rows:
            connection.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + LEASE_SECONDS * NS_PER_SECOND)
            )
        return [
            _Job(
                r.id,
                r.endpoint_id,
                r.attempts,
                r.url,
                secrets.open(r.secret_encrypted),
                r.event_id,
                r.type,
                r.payload.encode(),
            )
            for r in rows
        ]

    return run_in_transaction(engine, work)


def _record(engine: Engine, job: _Job, now: int, status: int | None, error: str | None, ms: int) -> None:
    attempts = job.attempts + 1
    if status is not None and 200 <= status < 300:
        values: dict[str, object] = {"status": "delivered", "delivered_at": now}
    elif attempts >= MAX_ATTEMPTS:
        values = {"status": "failed"}
    else:
        values = {"next_attempt_at": now + backoff_seconds(attempts) * NS_PER_SECOND}

    def work(connection: Connection) -> None:
        connection.execute(
            insert(webhook_attempts).values(
                id=new_id(),
                delivery_id=job.delivery_id,
                at=now,
                status_code=status,
                error=error,
                duration_ms=ms,
            )
        )
        connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == job.delivery_id)
            .values(attempts=attempts, last_status_code=status, last_error=error, **values)
        )

    run_in_transaction(engine, work)


def _open_circuit_if_failing(engine: Engine, endpoint_id: str, now: int) -> None:
    """Count the endpoint's failed attempts in a row; at CIRCUIT_AFTER or more, push its
    pending deliveries past the cool-off. Its own transaction, after the attempt's, and
    skipping rows another worker holds, so two failures of one endpoint never deadlock."""

    def work(connection: Connection) -> None:
        recent = connection.execute(
            select(webhook_attempts.c.status_code)
            .join(webhook_deliveries, webhook_deliveries.c.id == webhook_attempts.c.delivery_id)
            .where(webhook_deliveries.c.endpoint_id == endpoint_id)
            .order_by(webhook_attempts.c.at.desc(), webhook_attempts.c.id.desc())
            .limit(CIRCUIT_WINDOW)
        ).scalars()
        in_a_row = 0
        for status in recent:
            if status is not None and 200 <= status < 300:
                break
            in_a_row += 1
        if in_a_row < CIRCUIT_AFTER:
            return
        until = now + circuit_seconds(in_a_row) * NS_PER_SECOND
        waiting = select(webhook_deliveries.c.id).where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.status == "pending",
            webhook_deliveries.c.next_attempt_at < until,
        )
        if not is_sqlite(engine):
            waiting = waiting.with_for_update(skip_locked=True)
        ids = list(connection.execute(waiting).scalars())
        if ids:
            connection.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_(ids))
                .values(next_attempt_at=until)
            )

    run_in_transaction(engine, work)


def _attempt(engine: Engine, clock: Clock, client: httpx.Client, job: _Job, timeout: float) -> bool:
    """POST one delivery and record the attempt; True if it failed."""
    timestamp = clock() // NS_PER_SECOND
    headers = {
        "Content-Type": "application/json",
        "Obolo-Signature": sign(job.secret, job.body, timestamp),
        "Obolo-Event-Id": job.event_id,
        "Obolo-Event-Type": job.event_type,
        "User-Agent": "Obolo-Webhooks/1",
    }
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        response = client.post(job.url, content=job.body, headers=headers, timeout=timeout)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.HTTPError as failure:
        error = failure_reason(failure)
        # the detail is for the operators' log only, never for the endpoint's owner
        log.info("webhook attempt failed", delivery=job.delivery_id, error=type(failure).__name__)
    _record(engine, job, clock(), status, error, int((time.perf_counter() - started) * 1000))
    if error is not None:
        _open_circuit_if_failing(engine, job.endpoint_id, clock())
    return error is not None


def deliver_due(
    engine: Engine,
    secrets: SecretBox,
    clock: Clock,
    client: httpx.Client,
    limit: int = 100,
    on_failure: Callable[[], None] | None = None,
    *,
    concurrency: int = CONCURRENCY,
    per_endpoint: int = PER_ENDPOINT,
    timeout: float = TIMEOUT_SECONDS,
) -> int:
    """Attempt, all at once, the deliveries that are due (at most `per_endpoint` of each
    endpoint); returns how many were attempted (and calls `on_failure` for each that
    failed). Lasts about one `timeout` however many endpoints are slow."""
    jobs = _claim(engine, secrets, clock(), limit, per_endpoint)
    if not jobs:
        return 0
    with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs)), thread_name_prefix="webhook") as pool:
        failed = list(pool.map(lambda job: _attempt(engine, clock, client, job, timeout), jobs))
    if on_failure is not None:
        for _ in range(sum(failed)):
            on_failure()
    return len(jobs)
