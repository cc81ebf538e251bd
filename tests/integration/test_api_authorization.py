"""The authorization matrix: every route of the app by every kind of caller, aimed at
resources that belong to someone else. Each cell is the status the caller must get, and no
call moves money. The routes are read from the app itself, so a new route without a row here
fails the test until someone decides who may call it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger
from obolo.settings import Settings
from tests.integration.api_world import PASSWORD, bearer, cheap_hashing, person, populate

ADMIN_TOKEN = "matrix-admin-token-0123456789"
CALLERS = ("anonymous", "consumer", "provider", "employer", "worker", "operator", "narrow_key")

# Bodies that pass validation where the route checks ownership, so the answer shows the
# ownership check and not a schema error. `{owner.x}` is filled with the owner's ids.
PRICES = {"prices": [{"pattern": "/*", "price": "0.01"}]}
SITE = {"name": "Mine", "origin": "https://mine.example"}
SHOP = {"name": "Mine", "origin": "https://mine.example", "kind": "retail"}
REFUND = {"amount": "0.10", "asset": "EUR", "reason": "x"}
RULING = {"decision": "refund", "note": "x"}
REVIEW = {"items": [{"assignment_id": "{assignment_id}", "decision": "approve"}]}

# fmt: off
# One row per route: method, path, body, then the status each caller gets, in the order of
# CALLERS: anonymous, consumer, provider, employer, worker, operator, an API key scoped
# `wallets:read`. Every caller is a stranger to the resources in the path.
MATRIX: list[tuple[str, str, Any, tuple[int, ...]]] = [
    # public: anyone, and the refusals of bad bodies are schema errors
    ("GET",    "/healthz",                                   None,  (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/livez",                                     None,  (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/.well-known/obolo-keys",                    None,  (200, 200, 200, 200, 200, 200, 200)),
    ("POST",   "/v1/users",                                  {},    (422, 422, 422, 422, 422, 422, 422)),
    ("POST",   "/v1/sessions",                               {},    (422, 422, 422, 422, 422, 422, 422)),
    ("POST",   "/v1/sessions/phone-codes",                   {},    (422, 422, 422, 422, 422, 422, 422)),
    ("GET",    "/v1/providers/{provider_id}/prices",         None,  (200, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/v1/providers/{provider_id}/reaccess-period", None, (200, 200, 200, 200, 200, 200, 200)),
    # x402 facilitator: public, as x402's facilitators are; a proof is its own authority
    ("GET",    "/x402/supported",                            None,  (200, 200, 200, 200, 200, 200, 200)),
    ("POST",   "/x402/verify",                               {},    (422, 422, 422, 422, 422, 422, 422)),
    ("POST",   "/x402/settle",                               {},    (422, 422, 422, 422, 422, 422, 422)),
    # people and access
    ("DELETE", "/v1/sessions/current",                       None,  (401, 204, 204, 204, 204, 204, 204)),
    ("GET",    "/v1/me",                                     None,  (401, 200, 200, 200, 200, 200, 200)),
    ("POST",   "/v1/me/roles",                               {"role": "operator"},
                                                                    (401, 403, 403, 403, 403, 403, 403)),
    ("POST",   "/v1/api-keys",                               {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/api-keys",                               None,  (401, 200, 200, 200, 200, 200, 403)),
    ("DELETE", "/v1/api-keys/{key_id}",                      None,  (401, 404, 404, 404, 404, 404, 403)),
    # the account its holder manages: a session's own, never an API key's
    ("POST",   "/v1/sessions/two-factor",                    {},    (422, 422, 422, 422, 422, 422, 422)),
    ("PUT",    "/v1/me/password",                            {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/me/email",                               {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/me/email/confirm",                       {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/me/phone",                               {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/me/phone/confirm",                       {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/me/sessions",                            None,  (401, 200, 200, 200, 200, 200, 403)),
    ("DELETE", "/v1/me/sessions",                            None,  (401, 200, 200, 200, 200, 200, 403)),
    ("DELETE", "/v1/me/sessions/{session_id}",               None,  (401, 404, 404, 404, 404, 404, 403)),
    ("GET",    "/v1/me/two-factor",                          None,  (401, 200, 200, 200, 200, 200, 403)),
    ("POST",   "/v1/me/two-factor",                          None,  (401, 201, 201, 201, 201, 201, 403)),
    ("POST",   "/v1/me/two-factor/confirm",                  {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/me/two-factor/disable",                  {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/me/export",                              None,  (401, 200, 200, 200, 200, 200, 403)),
    ("POST",   "/v1/me/close",                               {},    (401, 422, 422, 422, 422, 422, 403)),
    # operator: one person's file, freezing
    ("GET",    "/v1/admin/people/{user_id}",                 None,  (401, 403, 403, 403, 403, 200, 403)),
    ("POST",   "/v1/admin/people/{user_id}/freeze",          {},    (401, 403, 403, 403, 403, 422, 403)),
    ("POST",   "/v1/admin/people/{user_id}/unfreeze",        {},    (401, 403, 403, 403, 403, 422, 403)),
    # wallets
    ("GET",    "/v1/wallets",                                None,  (401, 200, 200, 200, 200, 200, 200)),
    ("POST",   "/v1/topups",                                 {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/payments",                               {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/invitations/claim",                      {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/withdrawals",                            {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/transactions",                           None,  (401, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/v1/transactions/{movement_id}",             None,  (401, 404, 404, 404, 404, 404, 404)),
    ("GET",    "/v1/statements.csv",                         None,  (401, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/v1/spending",                               None,  (401, 200, 200, 200, 200, 200, 200)),
    # webhooks
    ("POST",   "/v1/webhook-endpoints",                      {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/webhook-endpoints",                      None,  (401, 200, 200, 200, 200, 200, 403)),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}",        None,  (401, 404, 404, 404, 404, 404, 403)),
    ("GET",    "/v1/webhook-endpoints/{endpoint_id}/deliveries", None, (401, 404, 404, 404, 404, 404, 403)),
    # paywall
    ("POST",   "/v1/providers",                              SITE,  (401, 403, 201, 403, 403, 403, 403)),
    ("POST",   "/v1/channels",                               {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/channels/claims",                        {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/passes",                                 {},    (401, 422, 422, 422, 422, 422, 403)),
    ("PUT",    "/v1/consents/{provider_id}",                 {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/charges",                                {},    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/refunds",                                {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/purchases",                              None,  (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/purchases",                              {},    (401, 422, 422, 422, 422, 422, 403)),
    ("PUT",    "/v1/providers/{provider_id}/prices",         PRICES, (401, 404, 404, 404, 404, 404, 403)),
    ("POST",   "/v1/providers/{provider_id}/receipt-key",    None,  (401, 404, 404, 404, 404, 404, 403)),
    ("PUT",    "/v1/providers/{provider_id}/reaccess-period", {"seconds": 600},
                                                                    (401, 404, 404, 404, 404, 404, 403)),
    ("GET",    "/v1/providers/{provider_id}/pages",          None,  (401, 404, 404, 404, 404, 404, 403)),
    # the view receipt (MACed by the provider) is checked first: a stranger cannot make one
    ("POST",   "/v1/channels/{channel_id}/refunds",          {"view": "x" * 20},
                                                                    (401, 422, 422, 422, 422, 422, 403)),
    # the raw ledger: the admin token only
    ("GET",    "/v1/ledger/accounts/{account_id}",           None,  (401, 401, 401, 401, 401, 401, 401)),
    ("GET",    "/v1/ledger/accounts/{account_id}/transfers", None,  (401, 401, 401, 401, 401, 401, 401)),
    ("POST",   "/v1/ledger/transfers",                       {},    (401, 401, 401, 401, 401, 401, 401)),
    ("GET",    "/v1/ledger/check",                           None,  (401, 401, 401, 401, 401, 401, 401)),
    # tasks
    ("GET",    "/v1/tasks/assignments",                      None,  (401, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/v1/tasks/assignments/{assignment_id}",      None,  (401, 404, 404, 404, 404, 404, 404)),
    ("POST",   "/v1/tasks/assignments/{assignment_id}/submit", {"answer": "yes"},
                                                                    (401, 403, 403, 403, 404, 403, 403)),
    ("POST",   "/v1/tasks/assignments/{assignment_id}/dispute", {"message": "unfair"},
                                                                    (401, 403, 403, 403, 404, 403, 403)),
    ("GET",    "/v1/tasks/workers/me",                       None,  (401, 200, 200, 200, 200, 200, 200)),
    ("POST",   "/v1/tasks/assignments/{assignment_id}/bonus", {"amount": "0.10", "asset": "EUR"},
                                                                    (401, 403, 403, 403, 403, 403, 403)),
    ("GET",    "/v1/tasks/disputes",                         None,  (401, 403, 403, 403, 403, 200, 403)),
    ("POST",   "/v1/tasks/disputes/{assignment_id}/decision", {"decision": "overturn"},
                                                                    (401, 403, 403, 403, 403, 404, 403)),
    ("POST",   "/v1/tasks",                                  {},    (401, 403, 403, 422, 403, 403, 403)),
    ("GET",    "/v1/tasks",                                  None,  (401, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/v1/tasks/{task_id}",                        None,  (401, 200, 200, 200, 200, 200, 200)),
    ("GET",    "/v1/tasks/{task_id}/assignments",            None,  (401, 403, 403, 403, 403, 403, 403)),
    ("POST",   "/v1/tasks/{task_id}/accept",                 None,  (401, 403, 403, 403, 201, 403, 403)),
    ("POST",   "/v1/tasks/{task_id}/reviews",                REVIEW, (401, 403, 403, 403, 403, 403, 403)),
    ("POST",   "/v1/tasks/{task_id}/cancel",                 None,  (401, 403, 403, 403, 403, 403, 403)),
    # payouts
    ("PUT",    "/v1/payout-account",                         {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/payout-account",                         None,  (401, 404, 404, 404, 404, 404, 404)),
    ("POST",   "/v1/payouts",                                {},    (401, 404, 404, 404, 404, 404, 403)),
    ("GET",    "/v1/payouts",                                None,  (401, 200, 200, 200, 200, 200, 200)),
    # the operator's manual adjustments
    ("POST",   "/v1/admin/adjustments",                      {},    (401, 403, 403, 403, 403, 422, 403)),
    ("GET",    "/v1/admin/sms/undo-requests",                None,  (401, 403, 403, 403, 403, 200, 403)),
    ("POST",   "/v1/admin/sms/undo-requests/{send_id}/decision", {"decision": "decline"},
     (401, 403, 403, 403, 403, 404, 403)),  # the operator: no undo request for that send
    # tap
    ("POST",   "/v1/merchants",                              SHOP,  (401, 403, 201, 403, 403, 403, 403)),
    ("POST",   "/v1/merchants/{merchant_id}/terminals",      {"name": "mine now", "mode": "retail"},
                                                                    (401, 404, 404, 404, 404, 404, 403)),
    ("POST",   "/v1/cards",                                  {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/cards",                                  None,  (401, 200, 200, 200, 200, 200, 200)),
    ("POST",   "/v1/cards/{card_id}/block",                  None,  (401, 404, 404, 404, 404, 404, 403)),
    ("POST",   "/v1/cards/{card_id}/unblock",                None,  (401, 404, 404, 404, 404, 404, 403)),
    ("GET",    "/v1/cards/{card_id}/journeys",               None,  (401, 404, 404, 404, 404, 404, 404)),
    # terminals authenticate with their own key, never a person's
    ("POST",   "/v1/taps",                                   {},    (401, 401, 401, 401, 401, 401, 401)),
    ("GET",    "/v1/terminals/{terminal_id}/offline-kit",    None,  (401, 401, 401, 401, 401, 401, 401)),
    ("POST",   "/v1/terminals/{terminal_id}/offline-taps",   {},    (401, 401, 401, 401, 401, 401, 401)),
    # checkout: merchants read and refund only their own requests; anyone may pay one (the
    # amount here is not the request's, so nothing moves); only its payer confirms or disputes
    ("POST",   "/v1/payment-requests",                       {},    (401, 422, 422, 422, 422, 422, 403)),
    ("GET",    "/v1/payment-requests",                       None,  (401, 200, 200, 200, 200, 200, 403)),
    ("GET",    "/v1/payment-requests/{payment_request_id}",  None,  (401, 404, 404, 404, 404, 404, 403)),
    ("POST",   "/v1/payment-requests/{payment_request_id}/refunds", REFUND,
                                                                    (401, 404, 404, 404, 404, 404, 403)),
    ("POST",   "/v1/payment-requests/{payment_request_id}/shipped", None,
                                                                    (401, 404, 404, 404, 404, 404, 403)),
    ("POST",   "/v1/payment-requests/{payment_request_id}/pay", {"amount": "9.99", "asset": "EUR"},
                                                                    (401, 422, 422, 422, 422, 422, 403)),
    ("POST",   "/v1/payment-requests/{payment_request_id}/receipt", None,
                                                                    (401, 403, 403, 403, 403, 403, 403)),
    ("POST",   "/v1/payment-requests/{payment_request_id}/disputes", {"reason": "never came"},
                                                                    (401, 403, 403, 403, 403, 403, 403)),
    ("GET",    "/v1/admin/payment-requests/disputes",        None,  (401, 403, 403, 403, 403, 200, 403)),
    ("POST",   "/v1/admin/payment-requests/{payment_request_id}/decision", RULING,
                                                                    (401, 403, 403, 403, 403, 409, 403)),
    # sms: the gateway's signature, never a person's token
    ("POST",   "/v1/sms/inbound",                            None,  (403, 403, 403, 403, 403, 403, 403)),
    ("POST",   "/v1/sms/link",                               None,  (401, 201, 201, 201, 201, 201, 403)),
]
# fmt: on

# Routes outside the JSON API, each with the reason it is not a row above.
NOT_IN_MATRIX = {
    "/openapi.json": "the schema: public",
    "/docs": "the schema's page: public",
    "/docs/oauth2-redirect": "part of /docs",
    "/redoc": "the schema's page: public",
    "/metrics": "its own token (OBOLO_METRICS_TOKEN), tested in test_observability.py",
    "/static": "files",
    "/widget.js": "the script providers embed: public",
    "/checkout.js": "the script shops embed (checkout): public",
}
# The pages sign in by cookie only: a bearer token is no one there. Their guard (sign-in
# redirect, CSRF on every form) is tested in tests/integration/test_web_*.py and here below.
PAGE_PREFIXES = (
    "/",
    "/language",
    "/signin",
    "/signup",
    "/signout",
    "/account",
    "/wallet",
    "/reading",
    "/provider",
    "/operator",
    "/widget",
    "/sms/simulator",
    "/tasks",
    "/pay",  # checkout: the hosted page and the wallet's payment handler
    "/p",  # checkout: short payment links
)


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers kept their own context
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    found = set()
    for route in routes:
        for method in sorted(set(getattr(route, "methods", None) or {"*"}) - {"HEAD"}):
            found.add((method, route.path))
    return found


def is_page(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES if p != "/")


def money_snapshot(platform) -> tuple:
    """Every account's four totals and the number of transfers: equal means no money moved."""
    with platform.engine.connect() as connection:
        accounts = connection.execute(
            text(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending "
                "FROM ledger_accounts ORDER BY id"
            )
        ).all()
        transfers = connection.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
    return tuple(tuple(row) for row in accounts), transfers


@dataclasses.dataclass
class World:
    client: TestClient
    platform: Any
    owner_ids: dict[str, str]
    callers: dict[str, dict[str, str]]


@pytest.fixture
def world(db_url, monkeypatch):
    monkeypatch.setenv("OBOLO_ADMIN_TOKEN", ADMIN_TOKEN)
    settings = dataclasses.replace(Settings.from_environment(), sms_auth_token="matrix-sms-token")
    platform = build(settings, url=db_url, migrate=True)
    cheap_hashing(platform)
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        owner = populate(client, platform, "owner@example.com")
        callers: dict[str, dict[str, str]] = {"anonymous": {}}
        for role in ("consumer", "provider", "employer", "worker"):
            callers[role] = person(client, f"{role}@example.com", role, top_up="5.00")
        callers["operator"] = person(client, "operator@example.com", top_up="5.00")
        platform.identity.grant_role("operator@example.com", Role.OPERATOR)
        holder = person(client, "holder@example.com", "consumer", "provider", "employer", "worker")
        key = client.post("/v1/api-keys", json={"name": "ro", "scopes": ["wallets:read"]}, headers=holder)
        callers["narrow_key"] = bearer(key.json()["secret"])
        # A send the owner never made: operators rule on requests, others may not even ask.
        yield World(
            client, platform, {**owner.ids, "send_id": "0190d1c2-0000-7000-8000-000000000000"}, callers
        )
    assert check_ledger(platform.engine) == []
    platform.close()


def test_every_route_has_a_row():
    """A route the matrix does not name fails here: someone must decide who may call it."""
    platform = build(url="sqlite://")
    served = app_routes(create_app(platform))
    platform.close()
    covered = {(method, path) for method, path, _, _ in MATRIX}
    missing = sorted(
        (method, path)
        for method, path in served
        if (method, path) not in covered and path not in NOT_IN_MATRIX and not is_page(path)
    )
    assert not missing, f"routes without a row in MATRIX: {missing}"
    stale = sorted(covered - served)
    assert not stale, f"rows for routes the app no longer serves: {stale}"
    assert all(len(expected) == len(CALLERS) for _, _, _, expected in MATRIX)


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, ids) for v in template]
    return template


def test_every_route_by_every_caller_on_someone_elses_resource(world):
    """Each caller gets exactly the status in MATRIX for each route aimed at another
    person's resources — 401 unsigned, 403 without the role or scope, 404 for what is not
    theirs — every refusal is problem+json with a code, and no call moves money."""
    client, platform = world.client, world.platform
    wrong = []
    for method, path, body, expected in MATRIX:
        url = fill(path, world.owner_ids)
        for caller, status in zip(CALLERS, expected, strict=True):
            headers = dict(world.callers[caller])
            if path == "/v1/sessions/current" and caller not in ("anonymous", "narrow_key"):
                # Signing out ends the session: use one made for this call.
                token, _, _ = platform.identity.sign_in(f"{caller}@example.com", PASSWORD, "matrix")
                headers = bearer(token)
            before = money_snapshot(platform)
            response = client.request(method, url, json=fill(body, world.owner_ids), headers=headers)
            after = money_snapshot(platform)
            got = response.status_code
            if got != status:
                wrong.append(f"{method} {path} as {caller}: {got}, expected {status}: {response.text[:160]}")
            if after != before:
                wrong.append(f"{method} {path} as {caller}: money moved")
            if got >= 400 and not (
                response.headers["content-type"].startswith("application/problem+json")
                and response.json().get("code")
            ):
                wrong.append(f"{method} {path} as {caller}: a refusal that is not problem+json with a code")
    assert not wrong, "\n".join(wrong)
