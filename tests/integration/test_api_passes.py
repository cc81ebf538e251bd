"""Passes over HTTP: sold only on the exact terms the provider published, and bought once
per Idempotency-Key; every refusal moves no money."""

from __future__ import annotations

import json

import pytest

from obolo.sdk.passes import Pass
from tests.integration.api_world import api_client, person

CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
RULES = {
    "prices": [{"pattern": "/articles/*", "price": "0.10", "asset": "EUR"}],
    "passes": [
        {"name": "10 articles", "pattern": "/articles/*", "price": "0.50", "asset": "EUR", "visits": 10},
        {"name": "a day", "pattern": "/articles/*", "price": "0.80", "asset": "EUR", "hours": 24},
    ],
}


@pytest.fixture
def client(db_url, clock):
    yield from api_client(db_url, clock)


@pytest.fixture
def shop(client):
    """A provider publishing RULES, and a reader with 10.00 EUR."""
    publisher = person(client, "pub@example.com", "provider")
    created = client.post(
        "/v1/providers", json={"name": "Mag", "origin": "https://mag.example"}, headers=publisher
    )
    provider_id = created.json()["id"]
    assert client.put(f"/v1/providers/{provider_id}/prices", json=RULES, headers=publisher).status_code == 204
    reader = person(client, "reader@example.com")
    topped = client.post("/v1/topups", json={"amount": "10.00", "asset": "EUR", "card": CARD}, headers=reader)
    assert topped.status_code == 201, topped.text
    return publisher, provider_id, reader


def on_sale(provider_id):
    return {
        "provider_id": provider_id,
        "pattern": "/articles/*",
        "asset": "EUR",
        "price": "0.50",
        "visits": 10,
    }


def balances(client, *people):
    return [[w["available"] for w in client.get("/v1/wallets", headers=who).json()] for who in people]


def terms(token):
    value, _, _ = Pass.decode(token)
    return (value.pattern, value.price, value.asset, value.visits)


def test_a_pass_on_the_published_terms_is_sold_and_paid_once(client, shop):
    """The published 10-visit pass at 0.50 is sold: the reader pays 0.50, the token states those terms."""
    publisher, provider_id, reader = shop
    bought = client.post("/v1/passes", json=on_sale(provider_id), headers=reader)
    assert bought.status_code == 201, bought.text
    assert terms(bought.json()["token"]) == ("/articles/*", 500_000, "EUR", 10)
    hours = {**on_sale(provider_id), "price": "0.800000", "visits": None, "hours": 24}
    assert client.post("/v1/passes", json=hours, headers=reader).status_code == 201
    assert balances(client, reader, publisher) == [["8.700000"], ["1.300000"]]


@pytest.mark.parametrize(
    "change",
    [
        {"price": "0.01"},
        {"price": "5.00"},
        {"visits": 100_000},
        {"visits": 9},
        {"pattern": "/*"},
        {"pattern": "/articles/1"},
        {"visits": None, "hours": 24},
        {"price": "0.80", "visits": None, "hours": 48},
        {"price": "0.80", "visits": 10, "hours": 24},
    ],
    ids=json.dumps,
)
def test_a_pass_on_terms_the_provider_does_not_offer_is_refused_and_moves_nothing(client, shop, change):
    """Any price, visits, hours or pattern other than a published offer's: 422
    pass_not_on_sale, and no wallet changes."""
    publisher, provider_id, reader = shop
    before = balances(client, reader, publisher)
    refused = client.post("/v1/passes", json={**on_sale(provider_id), **change}, headers=reader)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] in ("pass_not_on_sale", "invalid_pass")
    assert balances(client, reader, publisher) == before


def test_a_provider_that_publishes_no_passes_sells_none(client, shop):
    """Without published pass offers every pass is refused as not on sale; nothing moves."""
    publisher, provider_id, reader = shop
    client.put(f"/v1/providers/{provider_id}/prices", json={"prices": RULES["prices"]}, headers=publisher)
    before = balances(client, reader, publisher)
    refused = client.post("/v1/passes", json=on_sale(provider_id), headers=reader)
    assert (refused.status_code, refused.json()["code"]) == (422, "pass_not_on_sale")
    assert balances(client, reader, publisher) == before


def test_the_same_idempotency_key_buys_one_pass_and_replays_its_answer(client, shop):
    """The same key and body twice: one pass, paid once, the first answer replayed; the same
    key with another body: 422 idempotency_key_reused, nothing more paid."""
    publisher, provider_id, reader = shop
    keyed = {**reader, "Idempotency-Key": "pass-1"}
    first = client.post("/v1/passes", json=on_sale(provider_id), headers=keyed)
    again = client.post("/v1/passes", json=on_sale(provider_id), headers=keyed)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = {**on_sale(provider_id), "price": "0.80", "visits": None, "hours": 24}
    reused = client.post("/v1/passes", json=other, headers=keyed)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert balances(client, reader, publisher) == [["9.500000"], ["0.500000"]]
