"""Every POST of the paywall honours Idempotency-Key: the same key and body again replays
the first answer and does nothing more; the same key with another body is refused."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from obolo.entrypoints.api import paywall_routes
from obolo.sdk.views import ViewReceipt
from tests.integration.api_world import api_client, person

CHANNEL = "00000000-0000-0000-0000-00000000000a"
CHARGE = {"provider_id": CHANNEL, "resource": "/a", "asset": "EUR", "amount": "0.10", "charge_id": "c1"}


@pytest.fixture
def client(db_url, clock):
    yield from api_client(db_url, clock)


def paywall_posts() -> list[str]:
    return sorted(
        route.path
        for route in paywall_routes.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    )


def test_every_paywall_post_declares_the_idempotency_key(client):
    """The OpenAPI of every POST in paywall_routes takes the Idempotency-Key header."""
    operations = client.get("/openapi.json").json()["paths"]
    posts = paywall_posts()
    assert len(posts) >= 7
    missing = [
        path
        for path in posts
        if "Idempotency-Key" not in {p["name"] for p in operations[path]["post"].get("parameters", [])}
    ]
    assert missing == []


def answers(client, path, body, other, headers):
    keyed = {**headers, "Idempotency-Key": f"key-{path}"}
    first = client.post(path, json=body, headers=keyed)
    again = client.post(path, json=body, headers=keyed)
    reused = client.post(path, json=other, headers=keyed)
    return first, again, reused


def test_a_provider_registered_twice_with_one_key_is_one_provider(client):
    """The same key twice registers one provider and replays its answer; another body is refused."""
    publisher = person(client, "pub@example.com", "provider")
    site = {"name": "Mag", "origin": "https://mag.example"}
    first, again, reused = answers(client, "/v1/providers", site, {**site, "name": "Other"}, publisher)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    other = client.post("/v1/providers", json={**site, "name": "Other"}, headers=publisher)
    assert other.json()["id"] != first.json()["id"]  # without the key, a new one


def test_a_receipt_key_issued_twice_with_one_key_is_the_same_key(client):
    """A retried receipt-key request answers the key issued first (the one in force), not a
    new one that would silently revoke it."""
    publisher = person(client, "pub@example.com", "provider")
    provider = client.post(
        "/v1/providers", json={"name": "M", "origin": "https://m.example"}, headers=publisher
    )
    path = f"/v1/providers/{provider.json()['id']}/receipt-key"
    keyed = {**publisher, "Idempotency-Key": "receipt-key-1"}
    first = client.post(path, headers=keyed)
    again = client.post(path, headers=keyed)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize(
    ("path", "body", "other", "role"),
    [
        ("/v1/channels/claims", {"claims": [{"channel_id": CHANNEL, "index": 1, "token": "A" * 43}]},
         {"claims": [{"channel_id": CHANNEL, "index": 2, "token": "A" * 43}]}, "provider"),
        ("/v1/charges", CHARGE, {**CHARGE, "resource": "/b"}, None),
        ("/v1/refunds", {"provider_id": CHANNEL, "charge_id": "c1"},
         {"provider_id": CHANNEL, "charge_id": "c2"}, None),
        (f"/v1/channels/{CHANNEL}/refunds", {"view": ViewReceipt(CHANNEL, 1, "/a", 1).sign(b"k" * 32)},
         {"view": ViewReceipt(CHANNEL, 2, "/a", 1).sign(b"k" * 32)}, None),
    ],
    ids=["claims", "charges", "refunds", "view refunds"],
)  # fmt: skip
def test_the_same_key_replays_the_first_answer_and_another_body_is_refused(client, path, body, other, role):
    """Claims, charges, refunds and view refunds: the same key and body replay the first
    answer (marked Idempotent-Replayed); the same key with another body is 422
    idempotency_key_reused."""
    who = person(client, "someone@example.com", *([role] if role else []))
    first, again, reused = answers(client, path, body, other, who)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers.get("Idempotent-Replayed") == "true", again.text
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
