"""Every POST of the people and webhook APIs refuses bad input with problem+json, and
login throttling shows through HTTP as 429 with Retry-After."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app

PASSWORD = "a long enough password"


@pytest.fixture
def client(sqlite_url, clock):
    platform = build(url=sqlite_url, clock=clock)
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client
    platform.close()


@pytest.fixture
def auth(client):
    client.post("/v1/users", json={"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"})
    token = client.post("/v1/sessions", json={"email": "ada@example.com", "password": PASSWORD}).json()[
        "token"
    ]
    return {"Authorization": f"Bearer {token}"}


BAD = [
    ("/v1/users", {"email": "not-an-email", "password": PASSWORD, "display_name": "X"}, 422, "invalid_email"),
    ("/v1/users", {"email": "x@example.com", "password": "short", "display_name": "X"}, 422, "weak_password"),
    (
        "/v1/users",
        {"email": "x@example.com", "password": PASSWORD, "display_name": "X", "phone": "123"},
        422,
        "invalid_phone",
    ),
    ("/v1/users", {"email": 5, "password": PASSWORD, "display_name": "X"}, 422, "validation_error"),
    ("/v1/users", {"email": "x@example.com", "password": PASSWORD}, 422, "validation_error"),
    ("/v1/sessions", {"email": "ada@example.com", "password": "wrong password"}, 401, "invalid_credentials"),
    ("/v1/sessions", {"email": "ada@example.com"}, 422, "validation_error"),
    ("/v1/api-keys", {"name": "k", "scopes": ["root"]}, 422, "validation_error"),
    ("/v1/api-keys", {"name": "k", "scopes": []}, 422, "validation_error"),
    ("/v1/me/roles", {"role": "operator"}, 403, "role_not_self_service"),
    ("/v1/webhook-endpoints", {"url": "ftp://example.com/x", "events": ["*"]}, 422, "invalid_url"),
    (
        "/v1/webhook-endpoints",
        {"url": "https://example.com/x", "events": ["money.stolen"]},
        422,
        "unknown_event_type",
    ),
    ("/v1/webhook-endpoints", {"url": "https://example.com/x", "events": "*"}, 422, "validation_error"),
]


@pytest.mark.parametrize(("path", "body", "status", "code"), BAD)
def test_bad_bodies_get_a_clear_problem(client, auth, path, body, status, code):
    """Each bad body is refused with its status and stable code, as problem+json."""
    response = client.post(path, json=body, headers=auth)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_throttled_sign_in_is_429_with_retry_after(client, auth):
    """After a few wrong passwords the API answers 429 and says when to come back."""
    answers = [
        client.post("/v1/sessions", json={"email": "ada@example.com", "password": "wrong password"})
        for _ in range(5)
    ]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert limited[0].json()["code"] == "rate_limited"
    assert int(limited[0].headers["Retry-After"]) >= 1


def test_signed_out_tokens_stop_working(client, auth):
    """DELETE /v1/sessions/current revokes the token at once."""
    assert client.get("/v1/me", headers=auth).status_code == 200
    assert client.delete("/v1/sessions/current", headers=auth).status_code == 204
    assert client.get("/v1/me", headers=auth).status_code == 401


def test_api_key_secret_is_shown_once(client, auth):
    """Creating a key returns its secret; listing keys never does."""
    created = client.post(
        "/v1/api-keys", json={"name": "ci", "scopes": ["wallets:read"]}, headers=auth
    ).json()
    listed = client.get("/v1/api-keys", headers=auth).json()
    assert created["secret"].startswith("obo_")
    assert all("secret" not in key for key in listed)
    assert client.delete(f"/v1/api-keys/{created['id']}", headers=auth).status_code == 204
    assert (
        client.get("/v1/wallets", headers={"Authorization": f"Bearer {created['secret']}"}).status_code == 401
    )
