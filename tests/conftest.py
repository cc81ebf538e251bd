"""Shared fixtures: a fresh database per test, on SQLite always and on PostgreSQL when
OBOLO_TEST_PG_URL names a reachable server (otherwise those tests skip, saying why)."""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.ledger import Ledger
from tests.fakes import FakeClock

# Passwords and PINs hashed at Argon2's lowest cost in this process and in every server the
# tests start (they inherit the environment): the cost is a deployment's setting, checked by
# its own test; at full cost every sign-up and sign-in of the suite costs 64 MiB and 3 passes.
os.environ.setdefault("OBOLO_PASSWORD_TIME_COST", "1")
os.environ.setdefault("OBOLO_PASSWORD_MEMORY_KIB", "1024")
os.environ.setdefault("OBOLO_PASSWORD_PARALLELISM", "1")

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "fuzz", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("fuzz" if os.environ.get("OBOLO_FUZZ") else "ci")

PG_URL = os.environ.get("OBOLO_TEST_PG_URL", "")
_pg_reason: str | None = None


def _pg_unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here, or None if they can (checked once)."""
    global _pg_reason
    if _pg_reason is not None:
        return _pg_reason or None
    if not PG_URL:
        _pg_reason = (
            "PostgreSQL tests skipped: set OBOLO_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    else:
        try:
            engine = create_engine(_driver_url(PG_URL))
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
            _pg_reason = ""
        except Exception as error:  # any failure to connect means "not reachable here"
            _pg_reason = f"PostgreSQL tests skipped: {PG_URL} not reachable ({type(error).__name__})"
    return _pg_reason or None


def _driver_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def pytest_report_header() -> str:
    return _pg_unavailable() or f"PostgreSQL tests run against {PG_URL}"


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory) -> Path:
    """A database file at the newest migration, made once a test process: each test gets
    a copy, which takes a millisecond where migrating takes a second."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path, _migrated_sqlite) -> str:
    """A fresh SQLite database of this test's own, already migrated."""
    path = tmp_path / "ledger.db"
    shutil.copyfile(_migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def empty_sqlite_url(tmp_path) -> str:
    """A fresh SQLite database with nothing in it (for the migrations themselves)."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


def _server_url(database: str) -> str:
    return make_url(_driver_url(PG_URL)).set(database=database).render_as_string(hide_password=False)


@contextmanager
def _admin() -> Iterator[Connection]:
    engine = create_engine(_driver_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def _fresh_postgres_schema() -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of their own, dropped after."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _admin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    yield _driver_url(PG_URL) + separator + "options=" + quote(f"-csearch_path={schema}")
    with _admin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _drop_databases(names: queue.Queue[str]) -> None:
    """Drops each database handed over, one at a time: PostgreSQL takes a checkpoint for
    every DROP DATABASE (a second or so), which the next test need not wait for."""
    while True:
        name = names.get()
        try:
            with _admin() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        except DBAPIError:
            pass  # the server went away: nothing left to drop
        finally:
            names.task_done()


_dropped_later: queue.Queue[str] = queue.Queue()
threading.Thread(
    target=_drop_databases, args=(_dropped_later,), name="drop-test-databases", daemon=True
).start()


@pytest.fixture(scope="session")
def _migrated_postgres() -> Iterator[str | None]:
    """A database at the newest migration, made once a test process, that each test's
    database is copied from (CREATE DATABASE ... TEMPLATE: a tenth of a second where
    migrating takes one or two). None when the role may not create databases: then each
    test migrates a schema of its own."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    name = f"obolo_template_{uuid.uuid4().hex[:12]}"
    try:
        with _admin() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except DBAPIError:
        yield None
        return
    engine = make_engine(_server_url(name))
    upgrade(engine)
    engine.dispose()  # a template may have no one connected while it is copied
    yield name
    _dropped_later.put(name)
    _dropped_later.join()


@contextmanager
def _fresh_postgres(template: str | None) -> Iterator[str]:
    """A URL of a fresh, migrated PostgreSQL database of this test's own, dropped after."""
    if template is None:
        with _fresh_postgres_schema() as url:
            upgrade(engine := make_engine(url))
            engine.dispose()
            yield url
        return
    name = f"obolo_test_{uuid.uuid4().hex[:12]}"
    with _admin() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    try:
        yield _server_url(name)
    finally:
        _dropped_later.put(name)


@pytest.fixture
def postgres_url(_migrated_postgres) -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own, already migrated."""
    with _fresh_postgres(_migrated_postgres) as url:
        yield url


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of their own."""
    with _fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(name)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request) -> str:
    """An empty database on SQLite, then on PostgreSQL: for the migrations themselves."""
    name = "empty_sqlite_url" if request.param == "sqlite" else "empty_postgres_url"
    return request.getfixturevalue(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_db_url(request, tmp_path_factory) -> Iterator[str]:
    """One database for all the tests of a module, on SQLite and on PostgreSQL: for many
    small tests that each make their own people, where a fresh database each is slow."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module") / "ledger.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite"), path)
        yield f"sqlite:///{path}"
    else:
        with _fresh_postgres(request.getfixturevalue("_migrated_postgres")) as url:
            yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(db_url, clock) -> Iterator[Ledger]:
    instance = Ledger.connect(db_url, clock=clock)
    yield instance
    instance.close()
