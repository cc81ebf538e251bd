"""Tap to pay over HTTP: terminals authenticate with their own key or signature, a tap is
answered in one round trip, kits and offline batches, cards managed by their owners."""

from __future__ import annotations

import json
import uuid

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from obolo.sdk.payword import b64
from obolo.sdk.tap import public_keys, sign_request, verify_kit, verify_receipt
from tests.fakes import NS

PASSWORD = "a long enough password"
UID = "04:A1:B2:C3:D4:E5:F6"


@pytest.fixture
def platform(db_url, clock):
    built = build(url=db_url, clock=clock, migrate=True, card_key=b"k" * 32)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    assert check_ledger(built.engine) == []


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


def person(client, email, *roles):
    client.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": email[:5]})
    token = client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for role in roles:
        client.post("/v1/me/roles", json={"role": role}, headers=headers)
    return headers


@pytest.fixture
def shop(client):
    """A rider with 20.00 and a linked card; a shop with a keyed till."""
    rider = person(client, "rider@example.com")
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    topped = client.post("/v1/topups", json={"amount": "20.00", "asset": "EUR", "card": card}, headers=rider)
    assert topped.status_code == 201, topped.text
    linked = client.post("/v1/cards", json={"uid": UID, "label": "blue"}, headers=rider)
    assert linked.status_code == 201, linked.text
    owner = person(client, "owner@example.com", "provider")
    merchant = client.post(
        "/v1/merchants",
        json={"name": "Cafe", "origin": "https://cafe.example", "kind": "retail", "offline_limit": "5.00"},
        headers=owner,
    )
    assert merchant.status_code == 201, merchant.text
    terminal = client.post(
        f"/v1/merchants/{merchant.json()['id']}/terminals",
        json={"name": "till", "mode": "retail"},
        headers=owner,
    )
    assert terminal.status_code == 201, terminal.text
    return rider, owner, linked.json()["id"], merchant.json()["id"], terminal.json()


def wallet(client, headers):
    return client.get("/v1/wallets", headers=headers).json()


def tap_body(terminal_id, amount="2.50", uid=UID, tap_id=None):
    return {
        "tap_id": tap_id or str(uuid.uuid4()),
        "terminal_id": terminal_id,
        "card_uid": uid,
        "amount": amount,
    }


def test_a_tap_over_http_is_approved_with_a_receipt_and_a_retry_answers_the_same(client, platform, shop):
    """POST /v1/taps with the terminal's key charges once and returns a verifiable receipt."""
    rider, _, _, _, terminal = shop
    auth = {"Authorization": f"Bearer {terminal['api_key']}"}
    body = tap_body(terminal["id"])
    first = client.post("/v1/taps", json=body, headers=auth)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["charged"]) == ("approved", "2.500000")
    assert "app;dur=" in first.headers["server-timing"]
    receipt = verify_receipt(
        first.json()["receipt"], public_keys(client.get("/.well-known/obolo-keys").json()["keys"])
    )
    assert receipt.charged == 2_500_000
    again = client.post("/v1/taps", json=body, headers=auth)
    assert again.json() == first.json()
    assert wallet(client, rider)[0]["available"] == "17.500000"


def test_a_wrong_terminal_key_is_401_and_nothing_moves(client, shop):
    """A made-up key, or none, gets a problem with a stable code; the wallet is untouched."""
    rider, _, _, _, terminal = shop
    before = wallet(client, rider)
    for headers in ({"Authorization": "Bearer tk_wrong"}, {}):
        answer = client.post("/v1/taps", json=tap_body(terminal["id"]), headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "bad_terminal_credential"
    assert wallet(client, rider) == before


def test_an_unknown_card_is_declined_in_one_round_trip(client, shop):
    """A declined tap is an answer (200) with a reason and no receipt."""
    rider, _, _, _, terminal = shop
    before = wallet(client, rider)
    answer = client.post(
        "/v1/taps",
        json=tap_body(terminal["id"], uid="0400000001"),
        headers={"Authorization": f"Bearer {terminal['api_key']}"},
    )
    assert answer.json()["status"] == "declined"
    assert (answer.json()["reason"], answer.json()["receipt"]) == ("unknown_card", None)
    assert wallet(client, rider) == before


def test_a_signing_terminal_is_accepted_and_a_replay_under_another_terminal_is_not(client, clock, shop):
    """An Ed25519 terminal signs method, path, time and body; its signature speaks for no other terminal."""
    rider, owner, _, merchant_id, keyed = shop
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    made = client.post(
        f"/v1/merchants/{merchant_id}/terminals",
        json={"name": "signing till", "mode": "retail", "public_key": b64(public)},
        headers=owner,
    )
    assert made.status_code == 201, made.text
    assert made.json()["api_key"] is None
    terminal_id = made.json()["id"]
    raw = json.dumps(tap_body(terminal_id, "1.00")).encode()
    headers = {
        **sign_request("POST", "/v1/taps", clock() // NS, raw, key),
        "content-type": "application/json",
    }
    assert client.post("/v1/taps", content=raw, headers=headers).json()["status"] == "approved"
    before = wallet(client, rider)
    replayed = json.loads(raw)
    replayed["terminal_id"] = keyed["id"]
    answer = client.post("/v1/taps", content=json.dumps(replayed).encode(), headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "bad_terminal_credential")
    tampered = raw.replace(b'"1.00"', b'"9.00"')
    answer = client.post("/v1/taps", content=tampered, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "bad_terminal_credential")
    assert wallet(client, rider) == before


def test_the_offline_kit_and_an_offline_batch_over_http(client, platform, clock, shop):
    """The kit is signed; a batch answers per tap, a bad item failing alone."""
    rider, _, card_id, _, terminal = shop
    auth = {"Authorization": f"Bearer {terminal['api_key']}"}
    kit = client.get(f"/v1/terminals/{terminal['id']}/offline-kit", headers=auth)
    assert kit.status_code == 200, kit.text
    opened = verify_kit(kit.json()["kit"], public_keys(platform.keys.published()))
    assert (opened.terminal_id, opened.max_loss_per_card) == (terminal["id"], 5_000_000)
    when = "2027-01-15T08:00:00Z"
    clock.advance(600)
    good = {"tap_id": str(uuid.uuid4()), "card_uid": UID, "amount": "1.00", "tapped_at": when}
    bad = {"tap_id": str(uuid.uuid4()), "card_uid": "xyz-not-hex", "amount": "1.00", "tapped_at": when}
    answer = client.post(
        f"/v1/terminals/{terminal['id']}/offline-taps", json={"taps": [good, bad, good]}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert results[0]["result"]["charged"] == "1.000000"
    assert results[1]["error"]["code"] == "invalid_card_uid"
    assert results[2]["result"] == results[0]["result"]
    assert wallet(client, rider)[0]["available"] == "19.000000"
    journeys = client.get(f"/v1/cards/{card_id}/journeys", headers=rider).json()
    assert [(j["charged"], j["mode"]) for j in journeys] == [("1.000000", "retail")]


def test_owners_block_their_cards_over_http(client, shop):
    """Blocking is the owner's: someone else gets 404; a blocked card's tap is declined."""
    rider, owner, card_id, _, terminal = shop
    assert client.post(f"/v1/cards/{card_id}/block", headers=owner).status_code == 404
    assert client.post(f"/v1/cards/{card_id}/block", headers=rider).json()["blocked"] is True
    assert client.get("/v1/cards", headers=rider).json()[0]["blocked"] is True
    answer = client.post(
        "/v1/taps", json=tap_body(terminal["id"]), headers={"Authorization": f"Bearer {terminal['api_key']}"}
    )
    assert answer.json()["reason"] == "card_blocked"
    assert client.post(f"/v1/cards/{card_id}/unblock", headers=rider).json()["blocked"] is False


def test_bad_card_and_merchant_input_is_refused_with_codes(client, shop):
    """A UID that is not hex, a linked UID, caps out of order: each has its code."""
    rider, owner, _, _, _ = shop
    assert (
        client.post("/v1/cards", json={"uid": "not a uid!"}, headers=rider).json()["code"]
        == "invalid_card_uid"
    )
    assert client.post("/v1/cards", json={"uid": UID}, headers=rider).json()["code"] == "card_already_linked"
    bad = {"name": "Metro", "origin": "https://metro.example", "kind": "transit"}
    bad |= {"fare": "2.00", "daily_cap": "1.00", "weekly_cap": "10.00"}
    assert client.post("/v1/merchants", json=bad, headers=owner).json()["code"] == "invalid_merchant"
    assert client.post("/v1/merchants", json={**bad, "daily_cap": "5.00"}, headers=rider).status_code == 403
