"""A small populated platform for the API-wide tests (fuzzing, the authorization matrix):
people in every role, money in their wallets, and one of each resource, so that path ids
name things that exist."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text

from obolo.adapters.clock import iso
from obolo.bootstrap import Platform, build
from obolo.entrypoints.api.app import create_app
from obolo.identity.model import Role

PASSWORD = "a long enough password"
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}


def cheap_hashing(platform: Platform) -> None:
    """Argon2 at its smallest: the tests sign many people in; the cost is not under test."""
    platform.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def api_client(url: str, clock) -> Iterator[TestClient]:
    """The API on a migrated database at `url`, cheap hashing, server errors as answers."""
    platform = build(url=url, clock=clock, migrate=True)
    cheap_hashing(platform)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        yield client
    platform.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def person(client: TestClient, email: str, *roles: str, top_up: str | None = None) -> dict[str, str]:
    """Sign up, sign in, take self-service roles, top up: the person's bearer headers."""
    created = client.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:5]})
    assert created.status_code == 201, created.text
    signed_in = client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code in (200, 201), signed_in.text
    headers = bearer(signed_in.json()["token"])
    for role in roles:
        assert client.post("/v1/me/roles", json={"role": role}, headers=headers).status_code == 201
    if top_up:
        body = {"amount": top_up, "asset": "EUR", "card": CARD}
        assert client.post("/v1/topups", json=body, headers=headers).status_code == 201
    return headers


@dataclass
class Owned:
    """One person and what they own: the ids other people must not reach."""

    headers: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)


def populate(client: TestClient, platform: Platform, email: str, *, operator: bool = False) -> Owned:
    """A person with every self-service role (and optionally the operator role) who owns a
    provider, a merchant with a terminal, a card, a task with an assignment taken by a
    helper, a webhook endpoint, an API key and a few movements."""
    headers = person(client, email, "consumer", "provider", "employer", "worker", top_up="50.00")
    if operator:
        platform.identity.grant_role(email, Role.OPERATOR)
    owned = Owned(headers)
    ids = owned.ids
    ids["provider_id"] = _created(
        client.post("/v1/providers", json={"name": "Site", "origin": "https://site.example"}, headers=headers)
    )["id"]
    # A channel is the reader's: opened to another person's site (a provider does not pay itself).
    helper = person(client, f"helper.{email}", "worker", "provider")
    site = {"name": "Other site", "origin": "https://other.example"}
    helper_site = _created(client.post("/v1/providers", json=site, headers=helper))["id"]
    root = base64.urlsafe_b64encode(hashlib.sha256(email.encode()).digest()).decode().rstrip("=")
    channel = {"provider_id": helper_site, "asset": "EUR", "price": "0.01", "length": 10, "root": root}
    ids["channel_id"] = _created(client.post("/v1/channels", json=channel, headers=headers))["channel_id"]
    asked = {"provider_id": ids["provider_id"], "amount": "1.00", "asset": "EUR", "description": "A print",
             "reference": "order-1", "return_url": "https://site.example/done"}  # fmt: skip
    asking = client.post("/v1/payment-requests", json=asked, headers=headers)
    ids["payment_request_id"] = _created(asking)["id"]
    merchant = {"name": "Shop", "origin": "https://shop.example", "kind": "retail", "offline_limit": "1.00"}
    ids["merchant_id"] = _created(client.post("/v1/merchants", json=merchant, headers=headers))["id"]
    terminal = client.post(
        f"/v1/merchants/{ids['merchant_id']}/terminals",
        json={"name": "till", "mode": "retail"},
        headers=headers,
    )
    ids["terminal_id"] = _created(terminal)["id"]
    ids["terminal_key"] = terminal.json()["api_key"]
    uid = hashlib.sha256(email.encode()).hexdigest()[:14].upper()
    ids["card_id"] = _created(client.post("/v1/cards", json={"uid": uid}, headers=headers))["id"]
    endpoint = {"url": "https://hooks.example/in", "events": ["*"]}
    ids["endpoint_id"] = _created(client.post("/v1/webhook-endpoints", json=endpoint, headers=headers))["id"]
    ids["key_id"] = _created(
        client.post("/v1/api-keys", json={"name": "spare", "scopes": ["wallets:read"]}, headers=headers)
    )["id"]
    deadline = iso(platform.clock() + 86_400 * 1_000_000_000)
    task = {
        "title": "Check an address",
        "instructions": "Does this street exist?",
        "reward": "0.50",
        "asset": "EUR",
        "assignments": 3,
        "time_allowed_seconds": 600,
        "deadline": deadline,
    }
    ids["task_id"] = _created(client.post("/v1/tasks", json=task, headers=headers))["id"]
    ids["assignment_id"] = _created(client.post(f"/v1/tasks/{ids['task_id']}/accept", headers=helper))["id"]
    movements = client.get("/v1/transactions", headers=headers).json()
    items = movements["data"]
    ids["movement_id"] = items[0]["id"]
    ids["account_id"] = str(_some_account(platform))
    ids["user_id"] = client.get("/v1/me", headers=headers).json()["id"]
    # A spare session to aim at: revoking it must not sign the person's own calls out.
    assert client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).status_code == 201
    listed = client.get("/v1/me/sessions", headers=headers).json()
    ids["session_id"] = next(s["id"] for s in listed if not s["current"])
    return owned


def _created(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _some_account(platform: Platform) -> int:
    with platform.engine.connect() as connection:
        raw = connection.execute(text("SELECT id FROM ledger_accounts ORDER BY id DESC LIMIT 1")).scalar_one()
    return int.from_bytes(raw, "big")


def new_key() -> str:
    return str(uuid.uuid4())
