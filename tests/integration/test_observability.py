"""Metrics and logs: /metrics counts requests by route template and ledger batches; every
response carries a request id that the log lines name; no secret reaches a log line."""

from __future__ import annotations

import json

import pytest
import structlog
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.logs import configure, redact, scrub

PASSWORD = "a long enough password"
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}


@pytest.fixture
def client(sqlite_url, clock):
    platform = build(url=sqlite_url, clock=clock)
    platform.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client
    platform.close()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the exposition text (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_requests_are_counted_by_route_template_and_batches_by_the_ledger(client):
    """Two wallet reads count under /v1/wallets; a top-up adds a ledger batch."""
    before = client.get("/metrics").text
    client.post("/v1/users", json={"email": "m@example.com", "password": PASSWORD, "display_name": "M"})
    token = client.post("/v1/sessions", json={"email": "m@example.com", "password": PASSWORD}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    client.get("/v1/wallets", headers=auth)
    client.get("/v1/wallets", headers=auth)
    client.post("/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": CARD}, headers=auth)
    after = client.get("/metrics").text
    labels = {"method": "GET", "route": "/v1/wallets", "status": "200"}
    assert (
        metric(after, "obolo_http_requests_total", **labels)
        - metric(before, "obolo_http_requests_total", **labels)
        == 2
    )
    assert metric(after, "obolo_ledger_batches_total") > metric(before, "obolo_ledger_batches_total")
    assert "/v1/movements/" not in after  # raw paths with ids never become labels


def test_every_response_carries_a_request_id(client):
    """A sane X-Request-ID is echoed; a missing or unsafe one is replaced by a fresh id."""
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123-def"}).headers["x-request-id"]
        == "abc-123-def"
    )
    fresh = client.get("/healthz", headers={"X-Request-ID": "bad id\n<script>"}).headers["x-request-id"]
    assert len(fresh) == 32
    assert fresh.isalnum()


def test_no_secret_reaches_the_logs(client, capsys):
    """Sign-up, sign-in, a top-up with a card and an API key: the JSON log lines name the
    request id and hold no password, token, card number or key."""
    configure(json=True)
    try:
        client.post("/v1/users", json={"email": "s@example.com", "password": PASSWORD, "display_name": "S"})
        token = client.post("/v1/sessions", json={"email": "s@example.com", "password": PASSWORD}).json()[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        client.post("/v1/topups", json={"amount": "5.00", "asset": "EUR", "card": CARD}, headers=auth)
        key = client.post("/v1/api-keys", json={"name": "k", "scopes": ["wallets:read"]}, headers=auth).json()
        structlog.get_logger("test").info("careless", password=PASSWORD, note=f"key {key['secret']}")
        out = capsys.readouterr().out
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") for line in lines)
    for secret in (PASSWORD, token, CARD["number"], key["secret"]):
        assert secret not in out


def test_redaction_rules():
    """Secret-named keys are replaced; tokens, keys and card numbers are scrubbed from text."""
    event = redact(None, "info", {"pin": "1234", "card_uid": "04A2", "note": "paid with 4242 4242 4242 4242"})
    assert event == {
        "pin": "[redacted]",
        "card_uid": "[redacted]",
        "note": "paid with [card number redacted]",
    }
    assert scrub("Authorization: Bearer abc.def") == "Authorization: Bearer [redacted]"
    assert scrub("sent obo_ab12_secretpart") == "sent obo_[redacted]"
