"""Every POST, PUT, PATCH and DELETE of the API keeps Idempotency-Key, read from the app
itself: a new write route fails here until it has a request below (or is declared unkeyed,
with its reason, in `write_route.UNKEYED`). A keyed route replays its first answer on a
repeated key and refuses the key once it named another request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.api.write_route import CLAIM_THEN_STORE, UNKEYED, WRITE_METHODS, Keeping, WriteRoute
from tests.integration import test_api_crash_replay as crash
from tests.integration.test_api_authorization import is_page

scene = crash.scene  # one platform for the module: its people and the calls they make


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    by: dict[str, str]
    body: Any = None


def post(arrange: Callable[[crash.Scene], crash.Call]) -> Callable[[crash.Scene], Request]:
    def build_request(s: crash.Scene) -> Request:
        call = arrange(s)
        return Request("POST", call.path, call.by, call.body)

    return build_request


def own_provider(s: crash.Scene) -> tuple[crash.Person, str]:
    site = s.person("provider")
    return site, s.ok("/v1/providers", site, {"name": "Site", "origin": "https://site.example"})["id"]


def revoke_api_key(s: crash.Scene) -> Request:
    me = s.person()
    made = s.ok("/v1/api-keys", me, {"name": "ci", "scopes": ["wallets:read"]})
    return Request("DELETE", f"/v1/api-keys/{made['id']}", me.headers)


def add_role(s: crash.Scene) -> Request:
    return Request("POST", "/v1/me/roles", s.person().headers, {"role": "provider"})


HOOK = {"url": "https://93.184.216.34/hooks", "events": ["payment.sent"]}


def webhook_endpoint(s: crash.Scene) -> Request:
    return Request("POST", "/v1/webhook-endpoints", s.person().headers, HOOK)


def delete_webhook_endpoint(s: crash.Scene) -> Request:
    me = s.person()
    made = s.ok("/v1/webhook-endpoints", me, HOOK)
    return Request("DELETE", f"/v1/webhook-endpoints/{made['id']}", me.headers)


def settle_claims(s: crash.Scene) -> Request:
    """A claim on a channel nobody opened: answered item by item (`not_found`)."""
    site, _ = own_provider(s)
    claim = {"channel_id": str(uuid.uuid4()), "index": 1, "token": "A" * 43}
    return Request("POST", "/v1/channels/claims", site.headers, {"claims": [claim]})


def consent(s: crash.Scene) -> Request:
    _, provider_id = own_provider(s)
    body = {"asset": "EUR", "per_item": "0.10", "per_day": "1.00"}
    return Request("PUT", f"/v1/consents/{provider_id}", s.person(top_up="5.00").headers, body)


def charge(s: crash.Scene) -> Request:
    """A reader who allowed a site to charge up to 0.10 an item is charged 0.10."""
    _, provider_id = own_provider(s)
    reader = s.person(top_up="5.00")
    allowed = {"asset": "EUR", "per_item": "0.10", "per_day": "1.00"}
    assert s.client.put(f"/v1/consents/{provider_id}", json=allowed, headers=reader.headers).is_success
    body = {"provider_id": provider_id, "resource": "/a", "asset": "EUR", "amount": "0.10", "charge_id": "c1"}
    return Request("POST", "/v1/charges", reader.headers, body)


def refund_charge(s: crash.Scene) -> Request:
    site, _ = own_provider(s)
    return Request("POST", "/v1/refunds", site.headers, {"provider_id": str(uuid.uuid4()), "charge_id": "c1"})


def set_prices(s: crash.Scene) -> Request:
    site, provider_id = own_provider(s)
    return Request("PUT", f"/v1/providers/{provider_id}/prices", site.headers, crash_prices())


def set_reaccess_period(s: crash.Scene) -> Request:
    site, provider_id = own_provider(s)
    return Request("PUT", f"/v1/providers/{provider_id}/reaccess-period", site.headers, {"seconds": 600})


def crash_prices() -> dict[str, Any]:
    return {"prices": [{"pattern": "/*", "price": "0.01"}]}


def receipt_key(s: crash.Scene) -> Request:
    site, provider_id = own_provider(s)
    return Request("POST", f"/v1/providers/{provider_id}/receipt-key", site.headers)


def view_refund(s: crash.Scene) -> Request:
    """A view receipt the provider never MACed: refused (422), and the refusal kept."""
    reader = s.person()
    return Request("POST", f"/v1/channels/{uuid.uuid4()}/refunds", reader.headers, {"view": "x" * 20})


def payout_account(s: crash.Scene) -> Request:
    body = {"iban": crash.PAYS, "asset": "EUR", "schedule": "manual"}
    return Request("PUT", "/v1/payout-account", s.person().headers, body)


def shipped(s: crash.Scene) -> Request:
    seller, _, request_id = crash.paid_request(s, protection=True)
    return Request("POST", f"/v1/payment-requests/{request_id}/shipped", seller.headers)


def card_switch(action: str) -> Callable[[crash.Scene], Request]:
    def arrange(s: crash.Scene) -> Request:
        me = s.person()
        made = s.ok("/v1/cards", me, {"uid": crash.uid(s), "label": "blue"})
        if action == "unblock":
            s.ok(f"/v1/cards/{made['id']}/block", me)
        return Request("POST", f"/v1/cards/{made['id']}/{action}", me.headers)

    return arrange


def revoke_other_sessions(s: crash.Scene) -> Request:
    return Request("DELETE", "/v1/me/sessions", s.person().headers)


def revoke_unknown_session(s: crash.Scene) -> Request:
    """Someone's session id that is not the caller's: the use case answers 404."""
    return Request("DELETE", f"/v1/me/sessions/{uuid.uuid4()}", s.person().headers)


def user_id(s: crash.Scene, person: crash.Person) -> str:
    return str(s.client.get("/v1/me", headers=person.headers).json()["id"])


def standing(action: str) -> Callable[[crash.Scene], Request]:
    def arrange(s: crash.Scene) -> Request:
        target, operator = s.person(), s.person(operator=True)
        path = f"/v1/admin/people/{user_id(s, target)}"
        reason = {"reason": "a card reported stolen by its owner"}
        if action == "unfreeze":
            s.ok(f"{path}/freeze", operator, reason)
        return Request("POST", f"{path}/{action}", operator.headers, reason)

    return arrange


def close_with_money(s: crash.Scene) -> Request:
    """Closing with money and no IBAN: 409 balance_not_zero, stored and replayed."""
    return Request("POST", "/v1/me/close", s.person(top_up="5.00").headers, {"password": crash.PASSWORD})


def forged_view(s: crash.Scene) -> Request:
    return Request("POST", "/v1/purchases", s.person().headers, {"view": "not-a-view-receipt-at-all"})


# One valid request per keyed write route (success or a refusal the use case decides).
REQUESTS: dict[tuple[str, str], Callable[[crash.Scene], Request]] = {
    ("DELETE", "/v1/api-keys/{key_id}"): revoke_api_key,
    ("POST", "/v1/me/roles"): add_role,
    ("POST", "/v1/topups"): post(crash.topup(crash.CARD)),
    ("POST", "/v1/payments"): post(crash.payment("1.00")),
    ("POST", "/v1/withdrawals"): post(crash.withdrawal("2.00", crash.PAYS)),
    ("POST", "/v1/invitations/claim"): post(crash.invitation_claim),
    ("POST", "/v1/webhook-endpoints"): webhook_endpoint,
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): delete_webhook_endpoint,
    ("POST", "/v1/providers"): post(crash.register_provider),
    ("POST", "/v1/channels"): post(crash.channel(100)),
    ("POST", "/v1/channels/claims"): settle_claims,
    ("POST", "/v1/passes"): post(crash.buy_pass("0.50")),
    ("PUT", "/v1/consents/{provider_id}"): consent,
    ("POST", "/v1/charges"): charge,
    ("POST", "/v1/refunds"): refund_charge,
    ("PUT", "/v1/providers/{provider_id}/prices"): set_prices,
    ("PUT", "/v1/providers/{provider_id}/reaccess-period"): set_reaccess_period,
    ("POST", "/v1/providers/{provider_id}/receipt-key"): receipt_key,
    ("POST", "/v1/channels/{channel_id}/refunds"): view_refund,
    ("POST", "/v1/tasks/assignments/{assignment_id}/submit"): post(crash.submit),
    ("POST", "/v1/tasks/assignments/{assignment_id}/dispute"): post(crash.dispute),
    ("POST", "/v1/tasks/assignments/{assignment_id}/bonus"): post(crash.bonus("0.05")),
    ("POST", "/v1/tasks/disputes/{assignment_id}/decision"): post(crash.dispute_decision("uphold")),
    ("POST", "/v1/tasks"): post(crash.post_task("10.00")),
    ("POST", "/v1/tasks/{task_id}/accept"): post(crash.accept),
    ("POST", "/v1/tasks/{task_id}/reviews"): post(crash.review),
    ("POST", "/v1/tasks/{task_id}/cancel"): post(crash.cancel),
    ("PUT", "/v1/payout-account"): payout_account,
    ("POST", "/v1/payouts"): post(crash.payout(crash.PAYS)),
    ("POST", "/v1/admin/adjustments"): post(crash.adjustment("credit", "2.00")),
    ("POST", "/v1/admin/sms/undo-requests/{send_id}/decision"): post(crash.undo_decision("decline")),
    ("POST", "/v1/merchants"): post(crash.merchant),
    ("POST", "/v1/cards"): post(crash.card),
    ("POST", "/v1/cards/{card_id}/block"): card_switch("block"),
    ("POST", "/v1/cards/{card_id}/unblock"): card_switch("unblock"),
    ("POST", "/v1/payment-requests"): post(crash.payment_request),
    ("POST", "/v1/payment-requests/{payment_request_id}/refunds"): post(crash.request_refund("0.50")),
    ("POST", "/v1/payment-requests/{payment_request_id}/shipped"): shipped,
    ("POST", "/v1/payment-requests/{payment_request_id}/pay"): post(crash.pay_request("10.00")),
    ("POST", "/v1/payment-requests/{payment_request_id}/receipt"): post(crash.receipt),
    ("POST", "/v1/payment-requests/{payment_request_id}/disputes"): post(crash.request_dispute),
    ("POST", "/v1/admin/payment-requests/{payment_request_id}/decision"): post(
        crash.request_ruling("release")
    ),
    ("DELETE", "/v1/me/sessions"): revoke_other_sessions,
    ("DELETE", "/v1/me/sessions/{session_id}"): revoke_unknown_session,
    ("POST", "/v1/admin/people/{user_id}/freeze"): standing("freeze"),
    ("POST", "/v1/admin/people/{user_id}/unfreeze"): standing("unfreeze"),
    ("POST", "/v1/me/close"): close_with_money,
    ("POST", "/v1/purchases"): forged_view,
}


def write_routes() -> dict[tuple[str, str], Any]:
    """(method, path) → route, for every write route of the API app (pages aside)."""
    platform = build(url="sqlite://")
    try:
        app = create_app(platform)
        found = {}
        for context in iter_route_contexts(app.router.routes):
            methods = set(getattr(context, "methods", None) or ()) & WRITE_METHODS
            if methods and not is_page(context.path):
                for method in methods:
                    found[(method, context.path)] = context.original_route
        return found
    finally:
        platform.close()


ROUTES = write_routes()
KEYED = sorted(
    route for route, served in ROUTES.items() if getattr(served, "keeping", None) is not Keeping.UNKEYED
)


def test_every_write_route_of_the_api_is_a_write_route():
    """No write route of the API escapes the table: each is a WriteRoute."""
    assert [route for route, served in ROUTES.items() if not isinstance(served, WriteRoute)] == []


def test_every_exception_in_the_table_names_a_route_with_a_reason():
    """The claim-then-store and unkeyed tables name only routes the app serves, each with why."""
    for table in (CLAIM_THEN_STORE, UNKEYED):
        assert [route for route in table if route not in ROUTES] == []
        assert all(len(reason) > 20 for reason in table.values())
    assert len(KEYED) >= 40


@pytest.mark.parametrize("route", KEYED, ids=[f"{m} {p}" for m, p in KEYED])
def test_a_keyed_write_route_replays_its_first_answer_and_refuses_a_reused_key(scene, route):
    """The same key again replays the first answer (Idempotent-Replayed); the key is refused
    (422 idempotency_key_reused) once it named another request of the same caller."""
    arrange = REQUESTS.get(route)
    assert arrange is not None, f"{route}: add a request that reaches the use case to REQUESTS"
    request = arrange(scene)
    key = str(uuid.uuid4())

    def send(key: str) -> Any:
        return scene.client.request(
            request.method, request.path, json=request.body, headers={**request.by, "Idempotency-Key": key}
        )

    first = send(key)
    assert first.status_code < 500, first.text
    assert first.status_code not in (401, 403), first.text  # the use case answered, not the gate
    again = send(key)
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    # another request with a key of its own (a payment refused for want of funds: stored)...
    other_key = str(uuid.uuid4())
    unpaid = {"to": "nobody@example.com", "amount": "1000000.00", "asset": "EUR"}
    other = scene.client.post(
        "/v1/payments", json=unpaid, headers={**request.by, "Idempotency-Key": other_key}
    )
    assert other.status_code == 422, other.text
    # ...then that key on this route: refused, nothing run
    reused = send(other_key)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused"), reused.text
