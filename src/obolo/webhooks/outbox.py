"""Record an event in the caller's transaction, with one pending delivery per endpoint of
that user subscribed to its type. If the transaction rolls back, the event never was."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select

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


def record_events(connection: Connection, items: list[tuple[str, str, dict[str, Any]]], now: int) -> None:
    """`record_event` for many (user_id, event_type, data) at once: one query for the
    endpoints of all the users and one insert per table, for bulk use cases (tasks)."""
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
    connection.execute(insert(events), rows)
    endpoints: dict[str, list[Any]] = {}
    for endpoint in connection.execute(
        select(webhook_endpoints.c.id, webhook_endpoints.c.user_id, webhook_endpoints.c.events).where(
            webhook_endpoints.c.user_id.in_(sorted({row["user_id"] for row in rows})),
            webhook_endpoints.c.disabled_at.is_(None),
        )
    ).all():
        endpoints.setdefault(endpoint.user_id, []).append(endpoint)
    deliveries = [
        {"id": new_id(), "event_id": row["id"], "endpoint_id": endpoint.id, "status": "pending",
         "attempts": 0, "next_attempt_at": now, "created_at": now}
        for row in rows
        for endpoint in endpoints.get(row["user_id"], [])
        if subscribed(endpoint.events, row["type"])
    ]  # fmt: skip
    if deliveries:
        connection.execute(insert(webhook_deliveries), deliveries)
