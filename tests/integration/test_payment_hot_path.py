"""A payment's hot path: the SQL it costs as the server counts it, and the reads it spares
(sessions, wallets) never hiding a change: a sign-out, a role granted, a webhook endpoint
added are seen by the very next request."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.schema import webhook_deliveries
from obolo.adapters.db.statements import forget_statements, observe_statements
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.identity.model import Role
from obolo.ledger import Ledger
from obolo.ledger.model import Account, Transfer
from tests.integration.api_world import cheap_hashing, person

# Statements one warm payment with an Idempotency-Key costs, BEGIN included (SQLite; one
# fewer on PostgreSQL): the key looked up; the ledger's due holds, accounts, transfer ids,
# transfers and balances; the movement, the events and the answer stored. The movement is
# not looked for (the key was), the payer's standing and both people's webhook endpoints
# were read by an earlier payment, and a unit alone in its batch takes no savepoint.
STATEMENTS_PER_PAYMENT = 10


@pytest.fixture
def seen():
    counted: Counter[str] = Counter()

    def observer(what: str) -> None:
        counted[what] += 1

    observe_statements(observer)
    yield counted
    forget_statements(observer)


@pytest.fixture
def platform(db_url, clock):
    built = build(url=db_url, clock=clock, migrate=True)
    cheap_hashing(built)
    yield built
    built.close()


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform)) as test_client:
        yield test_client


def user_id(client, headers) -> str:
    return str(client.get("/v1/me", headers=headers).json()["id"])


def pay(client, headers, to: str, amount: str = "0.10"):
    return client.post(
        "/v1/payments",
        json={"to": to, "amount": amount, "asset": "EUR"},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )


def test_statements_through_sqlalchemy_and_commits_are_counted(db_url, seen):
    """Each statement sent through an engine counts once, each commit once."""
    engine = make_engine(db_url)
    with engine.connect() as connection:
        seen.clear()
        connection.execute(text("SELECT 1"))
        connection.execute(text("SELECT 2"))
        connection.commit()
    engine.dispose()
    # SQLite's BEGIN is a statement we send; PostgreSQL's driver begins on its own.
    assert seen["statement"] == (3 if db_url.startswith("sqlite") else 2)
    assert seen["commit"] == 1


def test_the_ledgers_statements_on_the_driver_cursor_are_counted(db_url, clock, seen):
    """The ledger's bulk SQL bypasses SQLAlchemy and is counted all the same: one
    transfer is a handful of statements, never zero."""
    ledger = Ledger.connect(db_url, clock=clock)
    ledger.create_accounts([Account(1, "EUR"), Account(2, "EUR")])
    seen.clear()
    ledger.create_transfers([Transfer(10, 1, 2, 5, "EUR")])
    ledger.close()
    # lock the accounts, look for the id, insert the transfer, update the accounts ...
    assert 4 <= seen["statement"] <= 8
    assert seen["commit"] == 1


def test_a_payment_costs_at_most_the_counted_statements_shown_on_metrics(client, platform, seen):
    """POST /v1/payments stays under its statement ceiling, and /metrics counts the same."""
    # However slow the machine, the session, the payer's standing and both people's webhook
    # endpoints stay reused across the payments measured.
    for service in (platform.identity, platform.wallets):
        service.settings = dataclasses.replace(service.settings, session_cache_seconds=3600)
    payer = person(client, "payer@example.com", top_up="20.00")
    payee = user_id(client, person(client, "payee@example.com"))
    # The payee's wallet is made by the first payment and read once by the second.
    for _ in range(2):
        assert pay(client, payer, payee).status_code == 201
    before = metric(client, "obolo_sql_statements_total")
    counts = []
    for _ in range(3):
        seen.clear()
        assert pay(client, payer, payee).status_code == 201
        counts.append(seen["statement"])
    assert max(counts) <= STATEMENTS_PER_PAYMENT, counts
    assert metric(client, "obolo_sql_statements_total") - before == sum(counts)


def metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


def test_signed_out_token_is_refused_at_once(client):
    """The session reused between requests is forgotten at sign-out."""
    headers = person(client, "leaver@example.com")
    assert client.get("/v1/me", headers=headers).status_code == 200
    assert client.delete("/v1/sessions/current", headers=headers).status_code in (200, 204)
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_a_role_granted_is_seen_by_the_next_request(client, platform):
    """A principal reused between requests carries its roles: granting one drops it."""
    headers = person(client, "rising@example.com")
    assert client.get("/v1/admin/payment-requests/disputes", headers=headers).status_code == 403
    platform.identity.grant_role("rising@example.com", Role.OPERATOR)
    assert client.get("/v1/admin/payment-requests/disputes", headers=headers).status_code == 200


def test_an_endpoint_added_is_seen_by_the_next_payment(client, platform):
    """A webhook endpoint added between two payments gets the second payment's events,
    on both sides, and nothing of the first."""
    payer = person(client, "hooked.payer@example.com", top_up="20.00")
    payee_headers = person(client, "hooked.payee@example.com")
    payee = user_id(client, payee_headers)
    assert pay(client, payer, payee).status_code == 201
    assert deliveries(platform) == 0
    for headers, event in ((payer, "payment.sent"), (payee_headers, "payment.received")):
        added = client.post(
            "/v1/webhook-endpoints",
            json={"url": "https://hooks.example/obolo", "events": [event]},
            headers=headers,
        )
        assert added.status_code == 201, added.text
    assert pay(client, payer, payee).status_code == 201
    assert deliveries(platform) == 2


def deliveries(platform) -> int:
    with platform.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one())


def test_a_freeze_is_seen_by_the_payers_next_payment(client, platform):
    """The payer's standing is reused between payments, but a freeze made in the process
    drops it: the very next payment is refused and moves nothing; an unfreeze restores."""
    wallets = platform.wallets
    wallets.settings = dataclasses.replace(wallets.settings, session_cache_seconds=3600)
    payer = person(client, "freezing.payer@example.com", top_up="20.00")
    payee = user_id(client, person(client, "freezing.payee@example.com"))
    operator = person(client, "freezing.operator@example.com")
    platform.identity.grant_role("freezing.operator@example.com", Role.OPERATOR)
    payer_id = user_id(client, payer)
    assert pay(client, payer, payee).status_code == 201
    path = f"/v1/admin/people/{payer_id}"
    frozen = client.post(f"{path}/freeze", json={"reason": "card fraud report"}, headers=operator)
    assert frozen.status_code == 200, frozen.text
    refused = pay(client, payer, payee)
    assert (refused.status_code, refused.json()["code"]) == (403, "account_frozen")
    assert available(client, payer) == "19.900000"
    unfrozen = client.post(f"{path}/unfreeze", json={"reason": "cleared by the bank"}, headers=operator)
    assert unfrozen.status_code == 200, unfrozen.text
    assert pay(client, payer, payee).status_code == 201
    assert available(client, payer) == "19.800000"


def available(client, headers) -> str:
    return {w["asset"]: w["available"] for w in client.get("/v1/wallets", headers=headers).json()}["EUR"]
