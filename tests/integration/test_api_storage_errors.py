"""When the database itself fails, the API says which way with a stable code (503
problem+json, Retry-After), keeps nothing half-done, and the same Idempotency-Key works
once the database does. A key whose first request was left unfinished by a dead process
is taken over by the retry at once; one still running is waited for."""

from __future__ import annotations

import os
import socket
import sqlite3

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from obolo.adapters.db.engine import drill_pragmas
from obolo.adapters.db.transactions import storage_failure
from obolo.bootstrap import build
from obolo.entrypoints.api import idempotency
from obolo.entrypoints.api.app import create_app
from obolo.ledger.check import check_ledger
from tests.e2e.fault_support import snapshot
from tests.factories import dead_owner, dead_pid, unfinished

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
PASSWORD = "a long enough password"


def sqlite_error(pragma: str, statement: str) -> sqlite3.Error:
    """A real error from SQLite under the given limit."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (x)")
    connection.execute(pragma)
    try:
        connection.execute(statement)
    except sqlite3.Error as error:
        return error
    finally:
        connection.close()
    raise AssertionError("no error")


def test_each_database_failure_has_a_stable_code_and_anything_else_none():
    full = sqlite_error("PRAGMA max_page_count=2", "INSERT INTO t SELECT randomblob(100000)")
    read_only = sqlite_error("PRAGMA query_only=1", "INSERT INTO t VALUES (1)")
    cases = {
        full: "database_full",
        read_only: "database_read_only",
        psycopg.errors.DiskFull(): "database_full",
        psycopg.errors.ReadOnlySqlTransaction(): "database_read_only",
        psycopg.errors.AdminShutdown(): "database_unavailable",  # pg_terminate_backend
        psycopg.errors.CannotConnectNow(): "database_unavailable",  # starting up after a restart
        psycopg.errors.ConnectionFailure(): "database_unavailable",
        psycopg.OperationalError("server closed the connection unexpectedly"): "database_unavailable",
        psycopg.InterfaceError("the connection is closed"): "database_unavailable",
        OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown()): "database_unavailable",
        OperationalError("INSERT", {}, full): "database_full",
        psycopg.errors.UniqueViolation(): None,
        psycopg.errors.CheckViolation(): None,
        sqlite3.IntegrityError("CHECK constraint failed"): None,
        ValueError("not a database error"): None,
    }
    assert {repr(error): storage_failure(error) for error in cases} == {
        repr(error): code for error, code in cases.items()
    }
    invalidated = OperationalError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert storage_failure(invalidated) == "database_unavailable"


def test_the_drill_setting_takes_limits_only():
    assert drill_pragmas("max_page_count=400, query_only=1") == [("max_page_count", 400), ("query_only", 1)]
    assert drill_pragmas("") == []
    for bad in ("synchronous=0", "journal_mode=delete", "max_page_count=many", "query_only"):
        with pytest.raises(ValueError, match="OBOLO_SQLITE_PRAGMAS"):
            drill_pragmas(bad)


@pytest.fixture
def platform(sqlite_url):
    built = build(url=sqlite_url, migrate=True)
    built.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield built
    assert check_ledger(built.engine) == []
    built.close()


@pytest.fixture
def client(platform):
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


def person(client, email: str) -> dict[str, str]:
    assert (
        client.post("/v1/users", json={"email": email, "password": PASSWORD, "display_name": "P"}).status_code
        == 201
    )
    token = client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    topup = client.post("/v1/topups", json={"amount": "10.00", "asset": "EUR", "card": CARD}, headers=headers)
    assert topup.status_code == 201
    return headers


def pay(client, payer, key: str, amount: str = "1.00"):
    return client.post(
        "/v1/payments",
        json={"to": "bob@example.com", "amount": amount, "asset": "EUR"},
        headers={**payer, "Idempotency-Key": key},
    )


def test_a_read_only_database_answers_503_read_only_and_reading_works(client, platform):
    """Every new connection refuses writes: a payment is 503 `database_read_only` with
    Retry-After and moves nothing (not even the key's claim); the balance still reads;
    writable again, the same key pays once."""
    alice = person(client, "alice@example.com")
    person(client, "bob@example.com")
    before = snapshot(platform.engine)

    def read_only(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA query_only=1")

    event.listen(platform.engine, "connect", read_only)
    platform.engine.dispose()
    refused = pay(client, alice, "k1")
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "database_read_only"
    assert refused.headers["Retry-After"] == "30"
    wallets = client.get("/v1/wallets", headers=alice)
    assert wallets.status_code == 200
    assert wallets.json()[0]["available"] == "10.000000"
    event.remove(platform.engine, "connect", read_only)
    platform.engine.dispose()
    assert snapshot(platform.engine) == before
    paid = pay(client, alice, "k1")
    assert paid.status_code == 201
    assert pay(client, alice, "k1").json() == paid.json()
    assert client.get("/v1/wallets", headers=alice).json()[0]["available"] == "9.000000"


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (sqlite_error("PRAGMA max_page_count=2", "INSERT INTO t SELECT randomblob(100000)"), "database_full"),
        (OperationalError("INSERT", {}, psycopg.errors.AdminShutdown()), "database_unavailable"),
        (OperationalError("INSERT", {}, psycopg.errors.DiskFull()), "database_full"),
        (OperationalError("INSERT", {}, psycopg.errors.DeadlockDetected()), "busy"),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), "busy"),
    ],
)
def test_a_database_failure_mid_payment_is_503_with_its_code_and_the_key_stays_usable(
    client, platform, monkeypatch, raised, code
):
    alice = person(client, "alice@example.com")
    person(client, "bob@example.com")
    before = snapshot(platform.engine)

    def fail(*_args, **_kwargs):
        raise raised

    with monkeypatch.context() as patch:
        patch.setattr(platform.wallets, "pay", fail)
        refused = pay(client, alice, "k1")
    assert (refused.status_code, refused.json()["code"]) == (503, code)
    assert "same Idempotency-Key" in refused.json()["detail"]
    assert snapshot(platform.engine) == before
    assert pay(client, alice, "k1").status_code == 201  # the claim was released


def test_a_key_left_unfinished_by_a_dead_process_is_taken_over_at_once(client, platform, monkeypatch):
    """The first request's process was killed after the payment committed: the retry
    takes the key over without waiting, and answers with the same movement."""
    monkeypatch.setattr(idempotency, "_WAIT_SECONDS", 0.3)
    alice = person(client, "alice@example.com")
    person(client, "bob@example.com")
    first = pay(client, alice, "k1").json()
    host = socket.gethostname()[:40]
    for owner in (f"{host}:{dead_pid()}:0badcafe", idempotency.process_owner()):
        unfinished(platform.engine, "k1", owner)
        retry = pay(client, alice, "k1")
        assert retry.status_code == 201, retry.text
        assert retry.json()["id"] == first["id"]
    assert client.get("/v1/wallets", headers=alice).json()[0]["available"] == "9.000000"


def test_a_declined_top_up_left_unfinished_is_declined_again_on_retry(client, platform):
    """Killed after the decline was recorded but before its answer was stored: the retry
    finds the recorded decline and answers it as the first did (402, same movement),
    not as a created movement, and the card is not charged again."""
    alice = person(client, "alice@example.com")
    declined = {**CARD, "number": "4000000000000002"}

    def top_up():
        return client.post(
            "/v1/topups",
            json={"amount": "5.00", "asset": "EUR", "card": declined},
            headers={**alice, "Idempotency-Key": "t1"},
        )

    first = top_up()
    assert (first.status_code, first.json()["code"]) == (402, "card_declined")
    before = snapshot(platform.engine)
    unfinished(platform.engine, "t1", dead_owner())
    retry = top_up()
    assert (retry.status_code, retry.json()) == (402, first.json())
    assert "Idempotent-Replayed" not in retry.headers  # it ran again, and came to the same answer
    assert snapshot(platform.engine) == before


def test_a_key_whose_first_request_may_still_run_is_waited_for(client, platform, monkeypatch):
    """A claim by a live process on this host, or by another host, is not taken over:
    the retry is told the key is in use (until the claim is two minutes old)."""
    monkeypatch.setattr(idempotency, "_WAIT_SECONDS", 0.3)
    alice = person(client, "alice@example.com")
    person(client, "bob@example.com")
    assert pay(client, alice, "k1").status_code == 201
    host = socket.gethostname()[:40]
    for owner in (f"{host}:{os.getppid()}:0badcafe", f"another-host:{dead_pid()}:0badcafe"):
        unfinished(platform.engine, "k1", owner)
        retry = pay(client, alice, "k1")
        assert (retry.status_code, retry.json()["code"]) == (409, "idempotency_key_in_use")
