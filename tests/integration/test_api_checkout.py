"""Payment requests over HTTP: a merchant's API key asks for a payment (checkout URL,
link, QR code, SMS code), a payer pays it once, the merchant refunds and verifies the
signed result; every refusal is problem+json with its code and moves nothing."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from obolo.adapters.db.schema import events
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.workers import run_once
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger
from obolo.sdk.checkout import MemoryReplayGuard, ResultReplayed, public_keys, verify_result
from tests.integration.api_world import bearer, cheap_hashing, person
from tests.integration.checkout_helpers import SETTINGS
from tests.integration.test_api_authorization import money_snapshot

SITE = {"name": "Camera Shop", "origin": "https://shop.example"}


@dataclasses.dataclass
class Shop:
    client: TestClient
    platform: object
    key: dict[str, str]
    provider_id: str
    buyer: dict[str, str]

    def ask(self, **more) -> httpx.Response:
        body = {
            "provider_id": self.provider_id, "amount": "20.00", "asset": "EUR", "description": "Camera",
            "reference": "order-7", "return_url": "https://shop.example/orders/7",
            "items": [{"label": "Camera", "quantity": 1, "amount": "20.00"}],
        } | more  # fmt: skip
        return self.client.post("/v1/payment-requests", json=body, headers=self.key)


@pytest.fixture
def shop(db_url, clock):
    platform = build(SETTINGS, url=db_url, clock=clock, migrate=True)
    cheap_hashing(platform)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        owner = person(client, "seller@example.com", "provider")
        provider_id = client.post("/v1/providers", json=SITE, headers=owner).json()["id"]
        key = client.post("/v1/api-keys", json={"name": "shop", "scopes": ["provider:*"]}, headers=owner)
        buyer = person(client, "buyer@example.com", top_up="50.00")
        yield Shop(client, platform, bearer(key.json()["secret"]), provider_id, buyer)
    assert check_ledger(platform.engine) == []
    platform.close()


def test_a_merchant_asks_a_payer_pays_once_and_the_result_verifies(shop):
    """Created with its links, paid once (a retry answers the same), verified once by the SDK."""
    created = shop.ask()
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["checkout_url"].endswith(f"/pay/{request['id']}")
    assert request["link_url"].endswith(f"/p/{request['sms_code']}")
    assert request["qr_svg"].startswith("<svg")
    assert (request["status"], request["fee"]) == ("open", "0.200000")
    path = f"/v1/payment-requests/{request['id']}/pay"
    paid = shop.client.post(path, json={"amount": "20.00", "asset": "EUR"}, headers=shop.buyer)
    assert paid.status_code == 200, paid.text
    before = money_snapshot(shop.platform)
    again = shop.client.post(path, json={}, headers=shop.buyer)
    assert again.status_code == 200
    assert again.json()["result"] == paid.json()["result"]
    assert money_snapshot(shop.platform) == before
    keys = public_keys(shop.client.get("/.well-known/obolo-keys").json()["keys"])
    guard = MemoryReplayGuard()
    now = shop.platform.clock() / 1e9
    result = verify_result(paid.json()["result"], keys, request_id=request["id"], amount=20_000_000,
                           asset="EUR", merchant_id=shop.provider_id, seen=guard, now=now)  # fmt: skip
    assert result.status == "paid"
    with pytest.raises(ResultReplayed):
        verify_result(again.json()["result"], keys, request_id=request["id"], seen=guard, now=now)
    seen = shop.client.get(f"/v1/payment-requests/{request['id']}", headers=shop.key).json()
    assert seen["status"] == "paid"


def test_someone_else_paying_a_paid_request_is_told_and_charged_nothing(shop):
    """A second payer gets 409 payment_request_paid; nothing moves."""
    request = shop.ask().json()
    path = f"/v1/payment-requests/{request['id']}/pay"
    assert shop.client.post(path, json={}, headers=shop.buyer).status_code == 200
    other = person(shop.client, "other@example.com", top_up="50.00")
    before = money_snapshot(shop.platform)
    late = shop.client.post(path, json={}, headers=other)
    assert (late.status_code, late.json()["code"]) == (409, "payment_request_paid")
    assert money_snapshot(shop.platform) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"return_url": "https://evil.example/orders/7"}, 422, "invalid_return_url"),
        # Zero and a seventh decimal break the amount's documented pattern.
        ({"amount": "0.00", "items": []}, 422, "validation_error"),
        ({"amount": "1.0000001", "items": []}, 422, "validation_error"),
        ({"amount": "1.00", "items": [{"label": "print", "amount": "0.50"}]}, 422, "invalid_payment_request"),
        ({"amount": 20, "items": []}, 422, "validation_error"),
        ({"asset": "XYZ"}, 422, "unknown_asset"),
        ({"provider_id": "0190d1c2-0000-7000-8000-000000000000"}, 404, "provider_not_found"),
    ],
)
def test_bad_payment_requests_are_refused_with_their_code(shop, change, status, code):
    """Each refusal names its code and creates nothing."""
    before = money_snapshot(shop.platform)
    refused = shop.ask(**change)
    assert (refused.status_code, refused.json()["code"]) == (status, code)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert money_snapshot(shop.platform) == before
    assert shop.client.get("/v1/payment-requests", headers=shop.key).json() == []


def test_refunds_by_api_never_beyond_what_was_paid(shop):
    """A part, then more than is left (refused), then the rest; the payer is told each time."""
    request = shop.ask(amount="10.00", items=[]).json()
    shop.client.post(f"/v1/payment-requests/{request['id']}/pay", json={}, headers=shop.buyer)
    path = f"/v1/payment-requests/{request['id']}/refunds"
    part = shop.client.post(
        path, json={"amount": "4.00", "asset": "EUR", "reason": "scratch"}, headers=shop.key
    )
    assert (part.status_code, part.json()["refundable"]) == (201, "6.000000")
    before = money_snapshot(shop.platform)
    over = shop.client.post(path, json={"amount": "6.01", "asset": "EUR", "reason": "x"}, headers=shop.key)
    assert (over.status_code, over.json()["code"]) == (422, "invalid_refund")
    assert money_snapshot(shop.platform) == before
    wallets = shop.client.get("/v1/wallets", headers=shop.buyer).json()
    assert wallets[0]["available"] == "44.000000"
    history = shop.client.get("/v1/transactions", headers=shop.buyer).json()["data"]
    assert any(entry["description"].startswith("Refund from Camera Shop") for entry in history)


def test_expiry_and_the_webhooks_the_merchant_gets(shop, clock):
    """The job expires an unpaid request; the merchant's events say paid, refunded, expired."""
    paid = shop.ask().json()
    shop.client.post(f"/v1/payment-requests/{paid['id']}/pay", json={}, headers=shop.buyer)
    late = shop.ask(expires_in_seconds=60, reference="order-8").json()
    clock.advance(61)
    with httpx.Client() as client:
        assert run_once(shop.platform, client)["checkout_expire"] == 1
    refused = shop.client.post(f"/v1/payment-requests/{late['id']}/pay", json={}, headers=shop.buyer)
    assert (refused.status_code, refused.json()["code"]) == (409, "payment_request_expired")
    with shop.platform.engine.connect() as connection:
        types = set(connection.execute(select(events.c.type)).scalars())
    assert {"payment_request.paid", "payment_request.expired"} <= types


def test_the_operators_dispute_queue_and_ruling_by_api(shop):
    """A disputed payment shows in the queue; an operator who bought it may not rule on it;
    another operator's ruling releases it to the seller."""
    operator = person(shop.client, "olga@example.com")
    shop.platform.identity.grant_role("olga@example.com", Role.OPERATOR)
    request = shop.ask(buyer_protection=True).json()
    path = f"/v1/payment-requests/{request['id']}"
    shop.client.post(f"{path}/pay", json={}, headers=shop.buyer)
    disputed = shop.client.post(f"{path}/disputes", json={"reason": "never came"}, headers=shop.buyer)
    assert (disputed.status_code, disputed.json()["status"]) == (201, "disputed")
    queue = shop.client.get("/v1/admin/payment-requests/disputes", headers=operator).json()
    assert [r["id"] for r in queue] == [request["id"]]
    ruling = {"decision": "release", "note": "tracking shows delivery"}
    decision = f"/v1/admin/payment-requests/{request['id']}/decision"
    shop.platform.identity.grant_role("buyer@example.com", Role.OPERATOR)
    before = money_snapshot(shop.platform)
    own = shop.client.post(decision, json=ruling, headers=shop.buyer)
    assert (own.status_code, own.json()["code"]) == (403, "party_to_dispute")
    assert money_snapshot(shop.platform) == before
    decided = shop.client.post(decision, json=ruling, headers=operator)
    assert (decided.status_code, decided.json()["status"]) == (200, "paid")
    assert shop.client.get("/v1/admin/payment-requests/disputes", headers=operator).json() == []
