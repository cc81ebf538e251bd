"""The database refuses writes (SQLite): it is read-only, or it is full.

Neither can be done for real here without root mounts (and root ignores file modes), so
the server's own connections get the limit through OBOLO_SQLITE_PRAGMAS, the drill
setting: `query_only=1` refuses every write with SQLITE_READONLY, as a read-only file
does; `max_page_count=N` makes the file full at N pages (SQLITE_FULL, as a full disk).
The disk fills while the server runs: the test's own connection writes a filler table
until the server's limit is reached, and drops it to free the space again.

Money-moving requests are answered 503 problem+json with a stable code, reads keep
working, nothing is half-written (`PRAGMA integrity_check`, the ledger check, exact
balances), and once writes are possible again the same keys go through, once."""

from __future__ import annotations

import sqlite3
import uuid

import httpx

from obolo.adapters.db.engine import make_engine
from tests.e2e.fault_support import (
    START_BALANCE,
    Person,
    Recorder,
    Sent,
    Server,
    euros,
    sign_up_people,
    snapshot,
    verify,
)
from tests.e2e.test_server import free_port


def integrity(path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def payment(payer: Person, payee: Person, amount: int) -> Sent:
    body = {"to": payee.email, "amount": euros(amount), "asset": "EUR", "note": "drill"}
    return Sent(str(uuid.uuid4()), "/v1/payments", body, payer, payee, amount)


def test_a_read_only_database_refuses_changes_clearly_and_keeps_reading(tmp_path):
    """Restarted on a database that takes no writes: payments and top-ups are 503
    `database_read_only` and change nothing, balances and history still read; restarted
    writable, the same keys go through once."""
    path = tmp_path / "obolo.db"
    url = f"sqlite:///{path}"
    server = Server(url, free_port(), tmp_path)
    server.start()
    engine = make_engine(url)
    recorder = Recorder()
    try:
        people = sign_up_people(server.base, 3)
        server.stop()
        before = snapshot(engine)
        server.start(env={"OBOLO_SQLITE_PRAGMAS": "query_only=1"})
        with httpx.Client(base_url=server.base, timeout=15) as http:
            for n in range(6):
                sent = payment(people[n % 3], people[(n + 1) % 3], (n + 1) * 100_000)
                recorder.sent.append(sent)
                assert not recorder.send_once(http, sent)
                status, body = sent.answers[-1]
                assert (status, body["code"]) == (503, "database_read_only"), body
            topup = http.post(
                "/v1/topups",
                json={"amount": "1.00", "asset": "EUR", "card": {"number": "4242424242424242",
                      "exp_month": 12, "exp_year": 2031, "cvc": "123"}},
                headers={**people[0].headers, "Idempotency-Key": "read-only-topup"},
            )  # fmt: skip
            assert topup.status_code == 503
            assert topup.headers["content-type"].startswith("application/problem+json")
            assert topup.json()["code"] == "database_read_only"
            assert int(topup.headers["Retry-After"]) > 0
            for person in people:
                wallets = http.get("/v1/wallets", headers=person.headers)
                assert wallets.status_code == 200, wallets.text
                assert wallets.json()[0]["available"] == euros(START_BALANCE)
                history = http.get("/v1/transactions", headers=person.headers)
                assert history.status_code == 200, history.text
                assert len(history.json()["data"]) == 1
        assert snapshot(engine) == before
        assert integrity(path) == "ok"
        server.stop()
        server.start()  # writable again
        with httpx.Client(base_url=server.base, timeout=15) as http:
            for sent in recorder.sent:
                assert recorder.send_once(http, sent), sent.answers[-1]
                assert sent.answers[-1][0] == 201
        verify(server.base, engine, people, recorder)
        assert integrity(path) == "ok"
    finally:
        server.stop()
        engine.dispose()


def test_a_full_disk_refuses_changes_clearly_and_recovers_when_space_frees(tmp_path):
    """The file reaches the server's page limit while it runs: payments are 503
    `database_full` and change nothing; reads work; once the filler is dropped, the same
    keys go through once. The file is intact throughout."""
    path = tmp_path / "obolo.db"
    url = f"sqlite:///{path}"
    server = Server(url, free_port(), tmp_path)
    limit = 3000  # pages of 4 KiB: a 12 MB disk
    server.start(env={"OBOLO_SQLITE_PRAGMAS": f"max_page_count={limit}"})
    engine = make_engine(url)
    recorder = Recorder()
    try:
        people = sign_up_people(server.base, 3)
        with httpx.Client(base_url=server.base, timeout=15) as http:
            # some payments while there is room
            for n in range(10):
                sent = payment(people[n % 3], people[(n + 1) % 3], 10_000)
                recorder.sent.append(sent)
                assert recorder.send_once(http, sent), sent.answers[-1]
            # the disk fills up: another writer takes every page left
            with sqlite3.connect(path, timeout=30) as filler:
                filler.execute("CREATE TABLE drill_filler (blob BLOB)")
                while filler.execute("PRAGMA page_count").fetchone()[0] < limit + 10:
                    filler.execute("INSERT INTO drill_filler VALUES (randomblob(16000))")
                filler.commit()
            full = 0
            for n in range(60):
                sent = payment(people[n % 3], people[(n + 2) % 3], 20_000 + n)
                recorder.sent.append(sent)
                if not recorder.send_once(http, sent):
                    status, body = sent.answers[-1]
                    assert (status, body["code"]) == (503, "database_full"), body
                    assert sent.answers[-1][1]["status"] == 503
                    full += 1
            assert full > 50, f"only {full} of 60 payments met the full disk"
            for person in people:
                assert http.get("/v1/wallets", headers=person.headers).status_code == 200
            assert integrity(path) == "ok"
            # space frees up: the filler goes, its pages are free for the server again
            with sqlite3.connect(path, timeout=30) as filler:
                filler.execute("DROP TABLE drill_filler")
                filler.commit()
            retried = 0
            for sent in recorder.sent:
                if sent.final is None:
                    retried += 1
                    assert recorder.send_once(http, sent), sent.answers[-1]
        figures = verify(server.base, engine, people, recorder)
        print(f"\nSQLite, disk full: {full} of 60 payments refused, {retried} retried after: {figures}")
        assert integrity(path) == "ok"
    finally:
        server.stop()
        engine.dispose()
