"""Webhook endpoints: register, list, disable; see deliveries and their attempts.
Signing secrets are stored encrypted (they must be read back to sign) and shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from obolo.adapters.clock import Clock
from obolo.adapters.db.schema import events, webhook_attempts, webhook_deliveries, webhook_endpoints
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.egress import EgressGuard, EgressRefused
from obolo.adapters.ids import new_id
from obolo.adapters.secretbox import SecretBox
from obolo.audit import service as audit
from obolo.webhooks.delivery import shown_error
from obolo.webhooks.errors import EndpointNotFound, InvalidUrl, UnknownEventType, UrlNotAllowed
from obolo.webhooks.outbox import EVENT_TYPES, forget_endpoints


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    events: tuple[str, ...]
    created_at: int
    disabled_at: int | None


@dataclass(frozen=True, slots=True)
class Attempt:
    at: int
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    endpoint_id: str
    status: str
    attempts: list[Attempt]
    next_attempt_at: int
    created_at: int
    delivered_at: int | None


def check_url(url: str, egress: EgressGuard) -> str:
    """An http(s) URL the server may send to, read by the HTTP client's own parser (what
    is checked is what will be dialled). Raises InvalidUrl, or UrlNotAllowed when its host
    is, or resolves to, an internal address; a name that does not resolve yet is accepted,
    since every delivery is checked again when it connects."""
    text = url.strip()
    if len(text) > 2000:
        raise InvalidUrl("the endpoint must be an http(s) URL")
    try:
        egress.check_url(text)
    except ValueError:
        raise InvalidUrl("the endpoint must be an http(s) URL") from None
    except EgressRefused:
        raise UrlNotAllowed(
            "the endpoint's host is a loopback, private, link-local or otherwise internal "
            "address; webhooks go only to public addresses"
        ) from None
    return text


def check_events(wanted: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(wanted) - set(EVENT_TYPES) - {"*"})
    if unknown or not wanted:
        raise UnknownEventType(
            f"unknown event types: {', '.join(unknown) or '(none given)'}", known=list(EVENT_TYPES)
        )
    return tuple(sorted(set(wanted)))


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row.id, row.url, tuple(row.events.split(",")), row.created_at, row.disabled_at)


class WebhookService:
    def __init__(
        self, engine: Engine, clock: Clock, secrets_box: SecretBox, egress: EgressGuard | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.secrets = secrets_box
        self.egress = egress or EgressGuard()

    def create_endpoint(self, user_id: str, url: str, wanted: list[str]) -> tuple[Endpoint, str]:
        """A new endpoint and its signing secret (shown this once)."""
        endpoint = Endpoint(new_id(), check_url(url, self.egress), check_events(wanted), self.clock(), None)
        secret = "whsec_" + secrets.token_urlsafe(32)

        def work(connection: Connection) -> None:
            connection.execute(
                insert(webhook_endpoints).values(
                    id=endpoint.id,
                    user_id=user_id,
                    url=endpoint.url,
                    events=",".join(endpoint.events),
                    secret_encrypted=self.secrets.seal(secret),
                    created_at=endpoint.created_at,
                )
            )
            details = {"url": endpoint.url, "events": list(endpoint.events)}
            audit.record(
                connection, endpoint.created_at, user_id, "webhook_endpoint.created", endpoint.id, details
            )

        try:
            run_in_transaction(self.engine, work)
        finally:
            forget_endpoints(self.engine, user_id)
        return endpoint, secret

    def list_endpoints(self, user_id: str) -> list[Endpoint]:
        rows = run_in_transaction(
            self.engine,
            lambda c: c.execute(
                select(webhook_endpoints)
                .where(webhook_endpoints.c.user_id == user_id)
                .order_by(webhook_endpoints.c.created_at)
            ).all(),
            read_only=True,
        )
        return [_endpoint(r) for r in rows]

    def disable_endpoint(self, user_id: str, endpoint_id: str) -> None:
        """Stop delivering to it; someone else's endpoint is NotFound, like a missing one."""
        now = self.clock()

        def work(connection: Connection) -> None:
            result = connection.execute(
                update(webhook_endpoints)
                .where(
                    webhook_endpoints.c.id == endpoint_id,
                    webhook_endpoints.c.user_id == user_id,
                    webhook_endpoints.c.disabled_at.is_(None),
                )
                .values(disabled_at=now)
            )
            if result.rowcount == 0:
                raise EndpointNotFound("no such webhook endpoint")
            connection.execute(
                update(webhook_deliveries)
                .where(
                    webhook_deliveries.c.endpoint_id == endpoint_id, webhook_deliveries.c.status == "pending"
                )
                .values(status="cancelled")
            )

        try:
            run_in_transaction(self.engine, work)
        finally:
            forget_endpoints(self.engine, user_id)

    def deliveries(self, user_id: str, endpoint_id: str, limit: int = 50) -> list[Delivery]:
        """The endpoint's deliveries, newest first, each with its attempts."""

        def work(connection: Connection) -> list[Delivery]:
            owner = connection.execute(
                select(webhook_endpoints.c.user_id).where(webhook_endpoints.c.id == endpoint_id)
            ).scalar_one_or_none()
            if owner != user_id:
                raise EndpointNotFound("no such webhook endpoint")
            rows = connection.execute(
                select(webhook_deliveries, events.c.type)
                .join(events, events.c.id == webhook_deliveries.c.event_id)
                .where(webhook_deliveries.c.endpoint_id == endpoint_id)
                .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id.desc())
                .limit(limit)
            ).all()
            ids = [r.id for r in rows]
            tries: dict[str, list[Attempt]] = {i: [] for i in ids}
            if ids:
                for a in connection.execute(
                    select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id.in_(ids))
                    .order_by(webhook_attempts.c.at)
                ).all():
                    tries[a.delivery_id].append(
                        Attempt(a.at, a.status_code, shown_error(a.error), a.duration_ms)
                    )
            return [
                Delivery(
                    r.id,
                    r.event_id,
                    r.type,
                    r.endpoint_id,
                    r.status,
                    tries[r.id],
                    r.next_attempt_at,
                    r.created_at,
                    r.delivered_at,
                )
                for r in rows
            ]

        return run_in_transaction(self.engine, work, read_only=True)
