"""The paywall over HTTP: price rules published by the provider and read by its SDK;
keys published; channels and passes refused for bad input with nothing moved."""

from __future__ import annotations

import pytest

from obolo.sdk.passes import PassOffer
from obolo.sdk.paywall import Price, fetch_price_rules
from obolo.sdk.views import ViewReceipt
from tests.integration.api_world import api_client, person

RULES = {
    "prices": [{"pattern": "/articles/*", "price": "0.10", "asset": "EUR", "daily_cap": "0.50"}],
    "passes": [
        {"name": "10 articles", "pattern": "/articles/*", "price": "0.50", "asset": "EUR", "visits": 10}
    ],
}


@pytest.fixture
def client(sqlite_url, clock):
    yield from api_client(sqlite_url, clock)


@pytest.fixture
def provider(client):
    headers = person(client, "pub@example.com", "provider")
    created = client.post(
        "/v1/providers", json={"name": "Mag", "origin": "https://mag.example"}, headers=headers
    )
    assert created.status_code == 201, created.text
    return headers, created.json()["id"]


def test_price_rules_are_published_and_read_by_the_sdk(client, provider):
    """The provider publishes prices and passes; anyone reads them; the SDK turns them into units."""
    headers, provider_id = provider
    assert client.put(f"/v1/providers/{provider_id}/prices", json=RULES, headers=headers).status_code == 204
    prices, passes = fetch_price_rules(client, "", provider_id)
    assert prices == [Price("/articles/*", 100_000, "EUR", daily_cap=500_000)]
    assert passes == [PassOffer("10 articles", "/articles/*", 500_000, "EUR", visits=10)]


@pytest.mark.parametrize(
    "rules",
    [
        {"prices": [{"pattern": "/a/*", "price": "-1", "asset": "EUR"}]},
        {"prices": [{"pattern": "/a/*", "price": "0.1234567", "asset": "EUR"}]},
        {"prices": [{"pattern": "/a/*", "price": "0.10", "asset": "XYZ"}]},
        {"prices": [{"pattern": "/a/*", "price": 0.1, "asset": "EUR"}]},
        {"passes": [{"name": "x", "pattern": "/a/*", "price": "1e3", "asset": "EUR", "visits": 1}]},
    ],
)
def test_bad_price_rules_are_refused_and_nothing_is_stored(client, provider, rules):
    """Bad amounts and assets are 422; the published rules stay as they were."""
    headers, provider_id = provider
    client.put(f"/v1/providers/{provider_id}/prices", json=RULES, headers=headers)
    response = client.put(f"/v1/providers/{provider_id}/prices", json=rules, headers=headers)
    assert response.status_code == 422, response.text
    assert client.get(f"/v1/providers/{provider_id}/prices").json()["prices"][0]["price"] == "0.10"


def test_nobody_sets_another_providers_prices(client, provider):
    """Another provider's id is not found, and its prices do not change."""
    _, provider_id = provider
    other = person(client, "other@example.com", "provider")
    response = client.put(f"/v1/providers/{provider_id}/prices", json=RULES, headers=other)
    assert response.status_code == 404
    assert client.get(f"/v1/providers/{provider_id}/prices").json() == {"prices": [], "passes": []}


def test_registering_a_provider_needs_the_role(client):
    """Without the provider role: 403 provider_role_required."""
    headers = person(client, "reader@example.com")
    response = client.post(
        "/v1/providers", json={"name": "Mag", "origin": "https://mag.example"}, headers=headers
    )
    assert (response.status_code, response.json()["code"]) == (403, "provider_role_required")


def test_keys_are_published(client):
    """/.well-known/obolo-keys lists the current Ed25519 key with its id."""
    keys = client.get("/.well-known/obolo-keys").json()["keys"]
    assert keys[0]["alg"] == "Ed25519"
    assert keys[0]["kid"].startswith("ed25519-")


def test_receipt_keys_and_view_refunds_refuse_others_with_their_codes(client, provider):
    """Another user cannot take a provider's receipt key (404) nor refund on a channel that
    is not theirs (404 channel_not_found); a malformed receipt is 422 invalid_view_receipt."""
    headers, provider_id = provider
    stranger = person(client, "stranger@example.com", "provider")
    taken = client.post(f"/v1/providers/{provider_id}/receipt-key", headers=stranger)
    assert (taken.status_code, taken.json()["code"]) == (404, "provider_not_found")
    issued = client.post(f"/v1/providers/{provider_id}/receipt-key", headers=headers)
    assert issued.status_code == 201
    assert len(issued.json()["receipt_key"]) == 43
    channel = "00000000-0000-0000-0000-00000000000a"
    view = ViewReceipt(channel, 1, "/a", 1).sign(b"k" * 32)
    missing = client.post(f"/v1/channels/{channel}/refunds", json={"view": view}, headers=stranger)
    assert (missing.status_code, missing.json()["code"]) == (404, "channel_not_found")
    garbage = client.post(f"/v1/channels/{channel}/refunds", json={"view": "x" * 20}, headers=stranger)
    assert (garbage.status_code, garbage.json()["code"]) == (422, "invalid_view_receipt")


def test_a_channel_opened_again_with_the_same_idempotency_key_reserves_once(client, provider):
    """A retried channel opening (same key, same body) answers the first channel and holds its
    money once; the same key with another body is refused and holds nothing more."""
    import base64
    import hashlib

    _, provider_id = provider
    reader = person(client, "reader@example.com")
    card = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    topped = client.post("/v1/topups", json={"amount": "10.00", "asset": "EUR", "card": card}, headers=reader)
    assert topped.status_code == 201, topped.text
    root = base64.urlsafe_b64encode(hashlib.sha256(b"chain").digest()).decode().rstrip("=")
    body = {"provider_id": provider_id, "asset": "EUR", "price": "0.01", "length": 100, "root": root}
    keyed = {**reader, "Idempotency-Key": "open-1"}
    first = client.post("/v1/channels", json=body, headers=keyed)
    again = client.post("/v1/channels", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["channel_id"] == first.json()["channel_id"]
    other = client.post("/v1/channels", json={**body, "length": 200}, headers=keyed)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    wallets = client.get("/v1/wallets", headers=reader).json()
    assert wallets == [{"asset": "EUR", "available": "9.000000", "reserved": "1.000000"}]
