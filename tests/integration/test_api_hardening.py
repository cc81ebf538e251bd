"""Regressions for what the API fuzzer and the authorization matrix found: each test is
one finding, fixed, and holds on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from obolo.adapters.db.schema import login_attempts, users
from obolo.bootstrap import build
from obolo.entrypoints.api.app import create_app
from obolo.entrypoints.serving import server_options
from obolo.ledger.check import check_ledger
from obolo.settings import Settings
from tests.integration.api_world import bearer, cheap_hashing, person, populate

ADMIN_TOKEN = "hardening-admin-token-0123456789"


@pytest.fixture
def platform(db_url, monkeypatch):
    monkeypatch.setenv("OBOLO_ADMIN_TOKEN", ADMIN_TOKEN)
    built = build(dataclasses.replace(Settings.from_environment()), url=db_url, migrate=True)
    cheap_hashing(built)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_an_api_key_cannot_mint_a_broader_key_or_take_roles(client):
    """A key scoped `wallets:read` (say, stolen from a dashboard) can neither create a `*`
    key, list or revoke keys, nor take on roles: those need a signed-in session."""
    ada = person(client, "ada@example.com")
    secret = client.post("/v1/api-keys", json={"name": "ro", "scopes": ["wallets:read"]}, headers=ada).json()
    key = bearer(secret["secret"])
    assert_problem(
        client.post("/v1/api-keys", json={"name": "x", "scopes": ["*"]}, headers=key), 403, "forbidden"
    )
    assert_problem(client.get("/v1/api-keys", headers=key), 403, "forbidden")
    assert_problem(client.delete(f"/v1/api-keys/{secret['id']}", headers=key), 403, "forbidden")
    assert_problem(client.post("/v1/me/roles", json={"role": "provider"}, headers=key), 403, "forbidden")
    assert [k["name"] for k in client.get("/v1/api-keys", headers=ada).json()] == ["ro"]
    assert client.get("/v1/me", headers=ada).json()["roles"] == ["consumer"]
    assert client.get("/v1/wallets", headers=key).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tasks?offset=9223372036854775808",
        "/v1/tasks/assignments?offset=9223372036854775808",
        "/v1/tasks/{task_id}/assignments?offset=9223372036854775808",
    ],
)
def test_an_offset_beyond_a_database_integer_is_a_validation_error(client, platform, path):
    """Fuzzer finding: an offset past 2^63 raised OverflowError in the driver (a 500); it is
    now refused as `validation_error` before any query."""
    owner = populate(client, platform, "owner@example.com")
    response = client.get(path.format(**owner.ids), headers=owner.headers)
    assert_problem(response, 422, "validation_error")


def test_the_ledger_api_refuses_a_cursor_beyond_a_database_integer(client, platform):
    """Fuzzer finding, operators' ledger API: `after` past 2^63 is refused, not a 500."""
    owner = populate(client, platform, "owner@example.com")
    url = f"/v1/ledger/accounts/{owner.ids['account_id']}/transfers?after=9223372036854775808"
    assert_problem(client.get(url, headers=bearer(ADMIN_TOKEN)), 422, "validation_error")
    ok = client.get(url.replace("9223372036854775808", "0"), headers=bearer(ADMIN_TOKEN))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "spelling",
    [
        "0123456789abcdef0123456789ABCDEF",
        "01234567-89ab-cdef-0123-456789abcdef",
        "01234567-89abcdef-0123-456789ABCDEF",
        "340282366920938463463374607431768211455",
    ],
    ids=["hex", "hyphens", "some-hyphens", "decimal"],
)
def test_the_ledger_api_reads_every_id_spelling_its_document_allows(client, spelling):
    """Schemathesis finding: an account id written as the OpenAPI document allows (a UUID with
    or without its hyphens, or a decimal) is read as an id by every ledger route — 404 for an
    account that does not exist (none of its transfers), never 422 for what the document
    calls valid."""
    admin = bearer(ADMIN_TOKEN)
    assert_problem(client.get(f"/v1/ledger/accounts/{spelling}", headers=admin), 404, "not_found")
    listed = client.get(f"/v1/ledger/accounts/{spelling}/transfers", headers=admin)
    assert (listed.status_code, listed.json()) == (200, [])


def test_metrics_behind_a_token_refuse_a_wrong_one_as_a_problem(platform, monkeypatch):
    """/metrics with OBOLO_METRICS_TOKEN: a wrong or missing token is 401 problem+json (it
    was an empty 401, compared with `!=`, now in constant time); the right one reads."""
    monkeypatch.setenv("OBOLO_METRICS_TOKEN", "metrics-token-0123456789")
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        assert_problem(client.get("/metrics"), 401, "unauthorized")
        assert_problem(client.get("/metrics", headers=bearer("metrics-token-012345678")), 401, "unauthorized")
        ok = client.get("/metrics", headers=bearer("metrics-token-0123456789"))
        assert ok.status_code == 200
        assert "obolo_http_requests" in ok.text


@pytest.mark.parametrize(
    ("trusted", "seen_as"),
    [((), "127.0.0.1"), (("10.0.0.0/8",), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9")],
    ids=["no-proxy-trusted", "another-proxy-trusted", "this-proxy-trusted"],
)
def test_a_forwarded_address_is_believed_only_from_a_proxy_the_settings_name(platform, trusted, seen_as):
    """`obolo serve` believes X-Forwarded-For only from the proxies OBOLO_TRUSTED_PROXIES
    names (none by default): anyone on the host, or behind a proxy that passes the header
    through, could otherwise pick the address their failed sign-ins count against."""
    settings = dataclasses.replace(platform.settings, trusted_proxies=trusted)
    config = uvicorn.Config(create_app(platform), log_config=None, **server_options(settings))
    config.load()
    with TestClient(config.loaded_app, client=("127.0.0.1", 50000)) as client:
        answer = client.post(
            "/v1/sessions",
            json={"email": "nobody@example.com", "password": "a wrong password"},
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        )
    assert_problem(answer, 401, "invalid_credentials")
    with platform.engine.connect() as connection:
        keys = connection.execute(select(login_attempts.c.key)).scalars().all()
    assert sorted(key for key in keys if key.startswith("ip:")) == [f"ip:{seen_as}"]


def test_trusted_proxies_come_from_the_environment(monkeypatch):
    """OBOLO_TRUSTED_PROXIES is a comma-separated list of addresses or networks; unset, none."""
    assert Settings.from_environment().trusted_proxies == ()
    assert server_options(Settings.from_environment())["proxy_headers"] is False
    monkeypatch.setenv("OBOLO_TRUSTED_PROXIES", " 10.0.0.5, 192.168.0.0/16 ,")
    settings = Settings.from_environment()
    assert settings.trusted_proxies == ("10.0.0.5", "192.168.0.0/16")
    assert server_options(settings) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "192.168.0.0/16"],
    }


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",
        "password12",
        "qwertyuiop",
        "passwordpassword",
        "weakweakweak",
        "P@ssw0rd123",
        "1q2w3e4r5t",
    ],
)
def test_a_guessable_password_is_refused_at_sign_up_and_creates_nobody(client, platform, password):
    """POST /v1/users with a common or patterned password is 422 weak_password with the
    reason, and no account (and no money) comes of it."""
    body = {"email": "weak@example.com", "password": password, "display_name": "Weak"}
    answer = client.post("/v1/users", json=body)
    assert_problem(answer, 422, "weak_password")
    assert answer.json()["reason"] in ("common", "pattern")
    with platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 0
    assert check_ledger(platform.engine) == []


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("<b>@example.com", "invalid_email"),
        # bidi controls are refused in every text at the edge, before the address is read
        ("\u202eadmin@example.com", "validation_error"),
        ("admin\u200b@example.com", "invalid_email"),
        ("p\u0430ypal@example.com", "invalid_email"),
    ],
    ids=["markup", "right-to-left-override", "zero-width-space", "cyrillic-a"],
)
def test_an_address_with_markup_or_hidden_characters_is_refused_at_sign_up(client, platform, email, code):
    """POST /v1/users with markup, bidi or invisible characters or a lookalike letter in the
    email is a 422 (invalid_email, or the edge's validation_error for a bidi control), and
    nobody is created."""
    body = {"email": email, "password": "a long enough password", "display_name": "Sly"}
    assert_problem(client.post("/v1/users", json=body), 422, code)
    with platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(users)).scalar_one() == 0
    assert check_ledger(platform.engine) == []
