"""Run one unit of work in one transaction, again from the start if the database says it
lost a race (deadlock, serialization failure, a busy SQLite, a concurrent insert of the
same unique key). The work must do nothing outside the transaction (no HTTP calls, no
emails): a rerun must be indistinguishable from a first run."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from obolo.adapters.db.engine import READ_ONLY, is_sqlite

T = TypeVar("T")
RETRIES = 20
# Deadlock, serialization failure, lock not available: PostgreSQL says "try again".
_RETRY_SQLSTATES = {"40P01", "40001", "55P03"}


class TransactionBusy(Exception):
    """The work kept losing races until the retries ran out."""


_UNIQUE_VIOLATION = "23505"


def is_retryable(error: Exception) -> bool:
    """Did the database refuse this transaction because of a race a rerun resolves?

    Accepts SQLAlchemy's wrapped errors and the drivers' own (the ledger's hot path uses
    the driver cursor directly). A unique key inserted concurrently is a race (the rerun
    sees the winner's row); other integrity errors (a CHECK) are bugs and are not retried.
    """
    cause = error.orig if isinstance(error, DBAPIError) else error
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRY_SQLSTATES or sqlstate == _UNIQUE_VIOLATION
    if isinstance(cause, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(cause)
    if isinstance(cause, sqlite3.OperationalError):
        return "locked" in str(cause).lower() or "busy" in str(cause).lower()
    return False


# SQLite's primary result codes for a full disk and a read-only file; I/O error, cannot open.
_SQLITE_FULL, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN = 13, 8, 10, 14
DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_READ_ONLY = "database_read_only"
DATABASE_FULL = "database_full"


def storage_failure(error: BaseException) -> str | None:
    """Which failure of the database itself this error is, as a stable code, or None for
    any other error (a bug, a constraint).

    `database_unavailable`: the connection was lost or refused (a restart, a terminated
    backend, an I/O error); `database_read_only`: it refuses writes; `database_full`: no
    space is left. In each case the transaction did not commit, or committed whole: a
    retry with the same idempotency key is safe."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return DATABASE_UNAVAILABLE
    cause = error.orig if isinstance(error, DBAPIError) else error
    if isinstance(cause, sqlite3.Error):
        primary = (getattr(cause, "sqlite_errorcode", None) or 0) & 0xFF
        return {
            _SQLITE_FULL: DATABASE_FULL,
            _SQLITE_READONLY: DATABASE_READ_ONLY,
            _SQLITE_IOERR: DATABASE_UNAVAILABLE,
            _SQLITE_CANTOPEN: DATABASE_UNAVAILABLE,
        }.get(primary)
    if isinstance(cause, psycopg.Error):
        sqlstate = cause.sqlstate or ""
        if sqlstate == "53100":
            return DATABASE_FULL
        if sqlstate == "25006":
            return DATABASE_READ_ONLY
        if sqlstate[:2] in ("08", "53", "57") or isinstance(cause, psycopg.InterfaceError):
            return DATABASE_UNAVAILABLE  # connection exceptions, resources, operator intervention
        if not sqlstate and isinstance(cause, psycopg.OperationalError):
            return DATABASE_UNAVAILABLE  # "server closed the connection unexpectedly" and the like
    return None


@contextmanager
def transaction(
    engine: Engine, *, read_only: bool = False, connection: Connection | None = None
) -> Iterator[Connection]:
    """One transaction, committed when the block ends without an exception; on a
    connection from the pool, or on `connection` (one a caller keeps open) if given."""
    if connection is not None:
        with connection.begin():
            yield connection
        return
    options = READ_ONLY if read_only and is_sqlite(engine) else {}
    with engine.connect().execution_options(**options) as pooled, pooled.begin():
        yield pooled


def run_in_transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    read_only: bool = False,
    connection: Connection | None = None,
) -> T:
    """Run `work` in one transaction, retried from the start when it loses a race.

    Raises TransactionBusy when the retries run out; any other error propagates."""
    for attempt in range(RETRIES):
        try:
            with transaction(engine, read_only=read_only, connection=connection) as used:
                return work(used)
        except (DBAPIError, sqlite3.Error, psycopg.Error) as error:
            if not is_retryable(error):
                raise
            if attempt == RETRIES - 1:
                raise TransactionBusy(str(error)) from error
            time.sleep(min(0.2, 0.002 * 2**attempt) * random.random())
    raise AssertionError("unreachable")
