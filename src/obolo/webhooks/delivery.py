"""Deliver due webhooks: claim, commit, POST (outside any transaction), record.

On PostgreSQL deliveries are claimed with `FOR UPDATE SKIP LOCKED` and leased (their
next attempt pushed into the future) before the HTTP call, so any number of workers can
run without sending one delivery twice at the same time. A failed attempt is retried
with exponential backoff and jitter, up to MAX_ATTEMPTS; then the delivery fails.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import NS_PER_SECOND, Clock
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import new_id
from obolo.adapters.secretbox import SecretBox
from obolo.sdk.webhooks import sign

MAX_ATTEMPTS = 12
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 6 * 3600
LEASE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class _Job:
    delivery_id: str
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


def _claim(engine: Engine, secrets: SecretBox, now: int, limit: int) -> list[_Job]:
    def work(connection: Connection) -> list[_Job]:
        query = (
            select(
                webhook_deliveries.c.id,
                webhook_deliveries.c.attempts,
                webhook_endpoints.c.url,
                webhook_endpoints.c.secret_encrypted,
                events.c.id.label("event_id"),
                events.c.type,
                events.c.payload,
            )
            .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
            .join(events, events.c.id == webhook_deliveries.c.event_id)
            .where(webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now)
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
        )
        if not is_sqlite(engine):
            query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
        rows = connection.execute(query).all()
        if rows:
            connection.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + LEASE_SECONDS * NS_PER_SECOND)
            )
        return [
            _Job(
                r.id,
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


def deliver_due(
    engine: Engine,
    secrets: SecretBox,
    clock: Clock,
    client: httpx.Client,
    limit: int = 100,
    on_failure: Callable[[], None] | None = None,
) -> int:
    """Attempt every delivery that is due; returns how many were attempted (and calls
    `on_failure` for each that failed)."""
    jobs = _claim(engine, secrets, clock(), limit)
    for job in jobs:
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
            response = client.post(job.url, content=job.body, headers=headers, timeout=5.0)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {str(failure)[:400]}"
        _record(engine, job, clock(), status, error, int((time.perf_counter() - started) * 1000))
        if error is not None and on_failure is not None:
            on_failure()
    return len(jobs)
