"""Shared fixtures: a fresh database per test, on SQLite always and on PostgreSQL when
OBOLO_TEST_PG_URL names a reachable server (otherwise those tests skip, saying why)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from obolo.ledger import Ledger
from tests.fakes import FakeClock

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


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@contextmanager
def _fresh_postgres_schema() -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of their own, dropped after."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_driver_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    yield _driver_url(PG_URL) + separator + "options=" + quote(f"-csearch_path={schema}")
    with admin.connect() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections see a fresh, empty schema of their own."""
    with _fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(name)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_db_url(request, tmp_path_factory) -> Iterator[str]:
    """One database for all the tests of a module, on SQLite and on PostgreSQL: for many
    small tests that each make their own people, where a fresh database each is slow."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('module') / 'ledger.db'}"
    else:
        with _fresh_postgres_schema() as url:
            yield url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(db_url, clock) -> Iterator[Ledger]:
    instance = Ledger.connect(db_url, clock=clock)
    yield instance
    instance.close()
