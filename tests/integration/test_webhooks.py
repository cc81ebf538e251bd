"""Webhooks: events written with the money, delivered signed, retried with backoff."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, update

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.adapters.db.schema import webhook_deliveries, webhook_endpoints
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.secretbox import SecretBox
from obolo.errors import NotFound
from obolo.sdk import verify_signature
from obolo.webhooks.delivery import MAX_ATTEMPTS, deliver_due
from obolo.webhooks.errors import InvalidUrl, UnknownEventType
from obolo.webhooks.outbox import record_event, record_events
from obolo.webhooks.service import WebhookService
from tests.factories import make_user


@pytest.fixture
def hooks(db_url, clock):
    engine = make_engine(db_url)
    upgrade(engine)
    yield WebhookService(engine, clock, SecretBox.from_environment())
    engine.dispose()


@pytest.fixture
def owner(hooks):
    return make_user(hooks.engine, "owner@example.com")


def emit(hooks, user_id, event_type="payment.received"):
    run_in_transaction(
        hooks.engine, lambda c: record_event(c, user_id, event_type, {"amount": "0.10"}, hooks.clock())
    )


def scripted(*statuses):
    """A receiver answering the given statuses in turn, remembering each request."""
    seen: list[httpx.Request] = []
    answers = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0) if answers else 200)

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_delivery_is_signed_and_verifiable(hooks, owner):
    """The receiver checks Obolo-Signature with the secret it was shown once."""
    endpoint, secret = hooks.create_endpoint(owner, "https://example.com/hooks", ["payment.received"])
    emit(hooks, owner)
    client, seen = scripted(200)
    assert deliver_due(hooks.engine, hooks.secrets, hooks.clock, client) == 1
    request = seen[0]
    verify_signature(secret, request.content, request.headers["Obolo-Signature"], now=hooks.clock() // 10**9)
    (delivery,) = hooks.deliveries(owner, endpoint.id)
    assert delivery.status == "delivered"
    assert [a.status_code for a in delivery.attempts] == [200]


def test_only_subscribed_events_are_delivered(hooks, owner):
    """An endpoint for payment.received gets nothing for topup.succeeded."""
    hooks.create_endpoint(owner, "https://example.com/hooks", ["payment.received"])
    emit(hooks, owner, "topup.succeeded")
    client, seen = scripted()
    assert deliver_due(hooks.engine, hooks.secrets, hooks.clock, client) == 0
    assert seen == []


def test_failures_retry_with_growing_backoff_and_record_each_attempt(hooks, clock, owner):
    """A 500 is retried later, not at once; each attempt is visible with its status."""
    endpoint, _ = hooks.create_endpoint(owner, "https://example.com/hooks", ["*"])
    emit(hooks, owner)
    client, seen = scripted(500, 503, 200)
    assert deliver_due(hooks.engine, hooks.secrets, clock, client) == 1
    assert deliver_due(hooks.engine, hooks.secrets, clock, client) == 0  # not yet due
    clock.advance(40)
    assert deliver_due(hooks.engine, hooks.secrets, clock, client) == 1
    clock.advance(40)
    assert deliver_due(hooks.engine, hooks.secrets, clock, client) == 0  # the second wait is longer
    clock.advance(60)
    assert deliver_due(hooks.engine, hooks.secrets, clock, client) == 1
    (delivery,) = hooks.deliveries(owner, endpoint.id)
    assert delivery.status == "delivered"
    assert [a.status_code for a in delivery.attempts] == [500, 503, 200]
    assert len({r.headers["Obolo-Event-Id"] for r in seen}) == 1


def test_delivery_gives_up_after_the_last_attempt(hooks, clock, owner):
    """After MAX_ATTEMPTS failures the delivery is marked failed and left alone."""
    endpoint, _ = hooks.create_endpoint(owner, "https://example.com/hooks", ["*"])
    emit(hooks, owner)
    client, _ = scripted(*([500] * (MAX_ATTEMPTS + 5)))
    for _ in range(MAX_ATTEMPTS + 3):
        deliver_due(hooks.engine, hooks.secrets, clock, client)
        clock.advance(7 * 3600)
    (delivery,) = hooks.deliveries(owner, endpoint.id)
    assert delivery.status == "failed"
    assert len(delivery.attempts) == MAX_ATTEMPTS


def test_network_errors_count_as_failed_attempts(hooks, clock, owner):
    """A connection error is recorded, saying only that, and retried."""
    endpoint, _ = hooks.create_endpoint(owner, "https://example.com/hooks", ["*"])
    emit(hooks, owner)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    deliver_due(hooks.engine, hooks.secrets, clock, httpx.Client(transport=httpx.MockTransport(refuse)))
    (delivery,) = hooks.deliveries(owner, endpoint.id)
    assert delivery.status == "pending"
    assert delivery.attempts[0].error == "connection failed"


def test_an_event_in_a_rolled_back_transaction_never_existed(hooks, owner):
    """The outbox shares the money's transaction: a rollback leaves no delivery."""
    hooks.create_endpoint(owner, "https://example.com/hooks", ["*"])

    def fail_after_recording(connection):
        record_event(connection, owner, "payment.received", {}, hooks.clock())
        raise RuntimeError("the payment failed")

    with pytest.raises(RuntimeError):
        run_in_transaction(hooks.engine, fail_after_recording)
    with hooks.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one() == 0


def test_bad_endpoints_and_other_peoples_endpoints(hooks, owner):
    """Non-http URLs and unknown events are refused; another user's endpoint is not found."""
    with pytest.raises(InvalidUrl):
        hooks.create_endpoint(owner, "ftp://example.com", ["*"])
    with pytest.raises(UnknownEventType):
        hooks.create_endpoint(owner, "https://example.com", ["payment.stolen"])
    endpoint, _ = hooks.create_endpoint(owner, "https://example.com", ["*"])
    other = make_user(hooks.engine, "other@example.com")
    with pytest.raises(NotFound):
        hooks.disable_endpoint(other, endpoint.id)
    with pytest.raises(NotFound):
        hooks.deliveries(other, endpoint.id)


def test_secrets_are_stored_encrypted(hooks, owner):
    """The signing secret is not in the database in the clear."""
    _, secret = hooks.create_endpoint(owner, "https://example.com", ["*"])
    with hooks.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT secret_encrypted FROM webhook_endpoints").scalar_one()
    assert secret not in stored
    assert hooks.secrets.open(stored) == secret


def test_concurrent_workers_never_send_one_delivery_twice(hooks, owner):
    """Several workers at once: every delivery is attempted exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    hooks.create_endpoint(owner, "https://example.com/hooks", ["*"])
    for _ in range(40):
        emit(hooks, owner)
    client, seen = scripted(*([200] * 100))
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = sum(
            pool.map(
                lambda _: deliver_due(
                    hooks.engine, hooks.secrets, hooks.clock, client, limit=5, per_endpoint=5
                ),
                range(16),
            )
        )
    # A worker that finds the endpoint's lane full takes nothing: what is left is taken by
    # the next round, as the job runner's next tick would.
    while (
        more := deliver_due(hooks.engine, hooks.secrets, hooks.clock, client, limit=5, per_endpoint=5)
    ) > 0:
        done += more
    assert done == 40
    ids = [r.headers["Obolo-Event-Id"] for r in seen]
    assert len(ids) == len(set(ids)) == 40


def emit_reusing(hooks, *user_ids, event_type="payment.received"):
    """Events recorded as a payment records them: reusing the endpoints read lately."""
    items = [(user_id, event_type, {"amount": "0.10"}) for user_id in user_ids]
    run_in_transaction(hooks.engine, lambda c: record_events(c, items, hooks.clock(), reuse_for=3600))


def test_endpoints_reused_between_events_never_send_to_a_disabled_one(hooks, owner):
    """Endpoints read for one event are reused for the next: one disabled in this process
    is seen at once; one disabled elsewhere may still get a delivery made, but it is
    cancelled when claimed, never sent."""
    other = make_user(hooks.engine, "other@example.com")
    here, _ = hooks.create_endpoint(owner, "https://example.com/here", ["payment.received"])
    elsewhere, _ = hooks.create_endpoint(other, "https://example.com/elsewhere", ["payment.received"])
    emit_reusing(hooks, owner, other)  # reads both people's endpoints, and keeps them
    client, seen = scripted()
    assert deliver_due(hooks.engine, hooks.secrets, hooks.clock, client) == 2
    hooks.disable_endpoint(owner, here.id)
    with hooks.engine.begin() as connection:  # as another process would: this one is not told
        connection.execute(
            update(webhook_endpoints).where(webhook_endpoints.c.id == elsewhere.id).values(disabled_at=1)
        )
    emit_reusing(hooks, owner, other)
    assert [d.status for d in hooks.deliveries(owner, here.id)] == ["delivered"]
    assert deliver_due(hooks.engine, hooks.secrets, hooks.clock, client) == 0
    assert len(seen) == 2
    assert [d.status for d in hooks.deliveries(other, elsewhere.id)] == ["cancelled", "delivered"]
