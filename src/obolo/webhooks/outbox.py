"""Record an event in the caller's transaction, with one pending delivery per endpoint of
that user subscribed to its type. If the transaction rolls back, the event never was."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, Connection, Engine, bindparam, insert, select

from obolo.adapters.db.schema import events, webhook_deliveries, webhook_endpoints
from obolo.adapters.ids import new_id

#: Every event type Obolo emits; endpoints subscribe to some or all ("*").
EVENT_TYPES = (
    "topup.succeeded",
    "topup.failed",
    "payment.sent",
    "payment.received",
    "withdrawal.created",
    "withdrawal.paid",
    "withdrawal.failed",
    # tasks
    "task.posted",
    "task.assignment_submitted",
    "task.assignment_approved",
    "task.assignment_rejected",
    "task.bonus_paid",
    "task.dispute_decided",
    "task.pay_below_minimum",
    # checkout
    "payment_request.paid",
    "payment_request.expired",
    "payment_request.refunded",
    "payment_request.shipped",
    "payment_request.released",
    "payment_request.disputed",
)


def subscribed(endpoint_events: str, event_type: str) -> bool:
    wanted = {e.strip() for e in endpoint_events.split(",") if e.strip()}
    return "*" in wanted or event_type in wanted


def record_event(
    connection: Connection, user_id: str, event_type: str, data: dict[str, Any], now: int
) -> str:
    """Write the event and its pending deliveries; returns the event id."""
    event_id = new_id()
    payload = {"id": event_id, "type": event_type, "created": now // 1_000_000_000, "data": data}
    connection.execute(
        insert(events).values(
            id=event_id,
            user_id=user_id,
            type=event_type,
            payload=json.dumps(payload, separators=(",", ":"), sort_keys=True),
            created_at=now,
        )
    )
    endpoints = connection.execute(
        select(webhook_endpoints.c.id, webhook_endpoints.c.events).where(
            webhook_endpoints.c.user_id == user_id, webhook_endpoints.c.disabled_at.is_(None)
        )
    ).all()
    deliveries = [
        {
            "id": new_id(),
            "event_id": event_id,
            "endpoint_id": endpoint.id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint in endpoints
        if subscribed(endpoint.events, event_type)
    ]
    if deliveries:
        connection.execute(insert(webhook_deliveries), deliveries)
    return event_id


_Subscription = tuple[str, str]  # an endpoint's id and the event types it wants


@dataclass
class _Known:
    """The active endpoints a process read lately, per person, on one database."""

    endpoints: dict[str, tuple[float, tuple[_Subscription, ...]]] = field(default_factory=dict)
    changes: int = 0  # bumped by every endpoint added or disabled in this process


_KNOWN_KEPT = 100_000  # people at most, per database
# Built once (a payment's hot path): construction and cache key are paid by the first use.
_INSERT_EVENTS = insert(events)
_INSERT_DELIVERIES = insert(webhook_deliveries)
_ACTIVE_ENDPOINTS = select(
    webhook_endpoints.c.id, webhook_endpoints.c.user_id, webhook_endpoints.c.events
).where(
    webhook_endpoints.c.user_id.in_(bindparam("users", expanding=True)),
    webhook_endpoints.c.disabled_at.is_(None),
)
_known: dict[URL, _Known] = {}
_known_lock = threading.Lock()


def forget_endpoints(engine: Engine, user_id: str) -> None:
    """The person's endpoints changed (one added or disabled): read them again next time.
    Called once the change has committed; a look-up that read them before and would keep
    what it read after this call keeps nothing."""
    with _known_lock:
        known = _known.setdefault(engine.url, _Known())
        known.changes += 1
        known.endpoints.pop(user_id, None)


def _endpoints_of(
    connection: Connection, user_ids: set[str], reuse_for: float
) -> dict[str, tuple[_Subscription, ...]]:
    """Each person's active endpoints: those read at most `reuse_for` seconds ago as they
    were, the others in one query."""
    now = time.monotonic()
    found: dict[str, tuple[_Subscription, ...]] = {}
    with _known_lock:
        known = _known.setdefault(connection.engine.url, _Known())
        changes = known.changes
        for user_id in user_ids:
            kept = known.endpoints.get(user_id) if reuse_for > 0 else None
            if kept is not None and now - kept[0] < reuse_for:
                found[user_id] = kept[1]
    missing = user_ids - found.keys()
    if not missing:
        return found
    read: dict[str, list[_Subscription]] = {user_id: [] for user_id in missing}
    for endpoint in connection.execute(_ACTIVE_ENDPOINTS, {"users": sorted(missing)}).all():
        read[endpoint.user_id].append((endpoint.id, endpoint.events))
    with _known_lock:
        keep = reuse_for > 0 and known.changes == changes  # no endpoint changed since the read
        if keep and len(known.endpoints) + len(read) > _KNOWN_KEPT:
            known.endpoints.clear()
        for user_id, endpoints in read.items():
            found[user_id] = tuple(endpoints)
            if keep:
                known.endpoints[user_id] = (now, found[user_id])
    return found


def record_events(
    connection: Connection,
    items: list[tuple[str, str, dict[str, Any]]],
    now: int,
    *,
    reuse_for: float = 0.0,
) -> None:
    """`record_event` for many (user_id, event_type, data) at once: one query for the
    endpoints of all the users and one insert per table, for bulk use cases (tasks).

    With `reuse_for` (seconds), a person's endpoints this process read at most that long
    ago are not read again (a statement on a payment's hot path): an endpoint added or
    disabled in this process is seen at once (`forget_endpoints`), one in another process
    of the deployment within that time, as a sign-out is (`session_cache_seconds`).
    A delivery made for an endpoint disabled meanwhile is cancelled, not sent."""
    if not items:
        return
    rows: list[dict[str, Any]] = []
    for user_id, event_type, data in items:
        event_id = new_id()
        payload = {"id": event_id, "type": event_type, "created": now // 1_000_000_000, "data": data}
        rows.append(
            {"id": event_id, "user_id": user_id, "type": event_type, "created_at": now,
             "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True)}
        )  # fmt: skip
    connection.execute(_INSERT_EVENTS, rows)
    endpoints = _endpoints_of(connection, {row["user_id"] for row in rows}, reuse_for)
    deliveries = [
        {"id": new_id(), "event_id": row["id"], "endpoint_id": endpoint_id, "status": "pending",
         "attempts": 0, "next_attempt_at": now, "created_at": now}
        for row in rows
        for endpoint_id, wanted in endpoints[row["user_id"]]
        if subscribed(wanted, row["type"])
    ]  # fmt: skip
    if deliveries:
        connection.execute(_INSERT_DELIVERIES, deliveries)
