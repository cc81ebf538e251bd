"""The database goes away under load (PostgreSQL).

In `make test`: the server's own connections are cut (`pg_terminate_backend`, only the
backends of this test's database and application_name) several times while clients pay
and top up. A request caught by a cut is answered 503 `database_unavailable`, never a 500
or a hang; the pool recovers by itself; clients retry with the same keys and every check
of the SQLite drill holds.

With OBOLO_FAULT_RESTART_PG=1 (never in `make test`: it interrupts everyone using the
server): the whole PostgreSQL cluster is restarted (`pg_ctlcluster 15 main restart`)
under load instead."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from tests.conftest import PG_URL, _driver_url, _pg_unavailable
from tests.e2e.fault_support import Server, drill_under_load
from tests.e2e.test_server import free_port

pytestmark = pytest.mark.postgres

CUTS = 4
ANSWERS_PER_CUT = 40


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of this test's own, dropped afterwards (the shared one is left alone)."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    name = f"obolo_faults_{uuid.uuid4().hex[:10]}"
    # pre-ping: after a restart drill the pooled connection is gone, the drop needs a new one
    admin = create_engine(_driver_url(PG_URL), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_driver_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def cut_connections(admin_url: str, database: str, application: str) -> int:
    """Terminate the server's backends (this database, this application name only)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :database AND application_name = :application"
                    ),
                    {"database": database, "application": application},
                ).all()
            )
    finally:
        admin.dispose()


def drill(tmp_path, url: str, fault, faults: int, answers_per_fault: int) -> dict[str, int]:
    application = f"obolo_fault_{uuid.uuid4().hex[:8]}"
    separator = "&" if "?" in url else "?"
    server = Server(f"{url}{separator}application_name={application}", free_port(), tmp_path)
    server.start()
    engine = make_engine(url)
    cut = 0

    def inject() -> None:
        nonlocal cut
        cut += fault(application)

    try:
        figures, recorder = drill_under_load(server, engine, inject, faults, answers_per_fault)
        figures["backends_cut"] = cut
        print(f"\nPostgreSQL, {fault.__name__} {faults}x under load: {figures}")
        failures = [b for sent in recorder.sent for s, b in sent.answers if s >= 500]
        assert {(b["status"], b["code"]) for b in failures} <= {(503, "database_unavailable")}, failures
        assert figures["lost sends"] == 0, "a request hung or its connection was dropped"
        return figures
    finally:
        server.stop()
        engine.dispose()


def test_connections_cut_under_load_lose_and_double_nothing(tmp_path, own_database):
    """Four times under load, every connection of the server is terminated."""
    database = make_url(own_database).database
    assert database is not None

    def terminate_backends(application: str) -> int:
        return cut_connections(_driver_url(PG_URL), database, application)

    figures = drill(tmp_path, own_database, terminate_backends, CUTS, ANSWERS_PER_CUT)
    assert figures["backends_cut"] >= CUTS


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("OBOLO_FAULT_RESTART_PG") != "1",
    reason="restarts the whole PostgreSQL cluster: set OBOLO_FAULT_RESTART_PG=1 on a machine of your own",
)
def test_a_postgres_restart_under_load_loses_and_doubles_nothing(tmp_path, own_database):
    """Once under load, `pg_ctlcluster 15 main restart` (as root)."""

    def restart_postgres(_application: str) -> int:
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, timeout=60)
        print(f"\nPostgreSQL restarted in {time.monotonic() - started:.1f} s")
        return 1

    drill(tmp_path, own_database, restart_postgres, 1, 60)
