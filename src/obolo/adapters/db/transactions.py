"""Run one unit of work in one transaction, again from the start if the database says it
lost a race (deadlock, serialization failure, a busy SQLite, a concurrent insert of the
same unique key). The work must do nothing outside the transaction (no HTTP calls, no
emails): a rerun must be indistinguishable from a first run.

The current transaction is ambient: while a unit of work runs (in the writer of
`write_path.py`, or in a write transaction a caller opened itself), `transaction()`,
`run_in_transaction()` and everything built on them (the ledger's `run`) join it on its
connection instead of opening another: no commit of their own, no retry loop of their
own (a race propagates to whoever owns the transaction, which reruns it whole). Outside
any unit, a write is handed to the engine's writer when one is installed (every write of
the process group-committed); reads stay on the caller's thread.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, TypeVar

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


@dataclass(frozen=True)
class Ambient:
    """The transaction units of work join: its engine and the connection it runs on."""

    engine: Engine
    connection: Connection


_ambient: ContextVar[Ambient | None] = ContextVar("obolo_transaction", default=None)
_optimistic: ContextVar[bool] = ContextVar("obolo_unit_optimistic", default=False)


class Isolate(Exception):
    """Raised by a unit running optimistically (see `optimistic`) that must undo part of
    its work and go on: the writer rolls the transaction back and runs the unit again,
    with a savepoint of its own."""


def optimistic() -> bool:
    """Is the running unit of work without a savepoint to fall back on? The writer runs
    units so while none has failed (a savepoint pair is two statements, and failures are
    rare): whatever a unit raises rolls back the whole transaction, and the writer reruns
    the batch with a savepoint around each unit. A unit that would catch an error and go
    on (roll back to its own savepoint, then write something else) raises `Isolate`
    instead, and does so only when this is true; elsewhere it takes its savepoint."""
    return _optimistic.get()


@contextmanager
def running_optimistically(value: bool) -> Iterator[None]:
    token = _optimistic.set(value)
    try:
        yield
    finally:
        _optimistic.reset(token)


class Writer(Protocol):
    """What runs a process's writes for one engine (see `write_path.WritePath`)."""

    def run(self, work: Callable[[Connection], T]) -> T: ...

    def submit(self, work: Callable[[Connection], T]) -> Future[T]: ...


_writers: dict[int, tuple[Engine, Writer]] = {}


def install_writer(engine: Engine, writer: Writer) -> None:
    """From now on, every write transaction on `engine` that is not already inside one is
    run by `writer`."""
    _writers[id(engine)] = (engine, writer)


def remove_writer(engine: Engine, writer: Writer) -> None:
    found = _writers.get(id(engine))
    if found is not None and found[1] is writer:
        del _writers[id(engine)]


def writer_for(engine: Engine) -> Writer | None:
    found = _writers.get(id(engine))
    return found[1] if found is not None and found[0] is engine else None


def ambient(engine: Engine) -> Connection | None:
    """The connection of the transaction this code runs inside, on `engine`, if any."""
    current = _ambient.get()
    return current.connection if current is not None and current.engine is engine else None


@contextmanager
def joined(engine: Engine, connection: Connection) -> Iterator[None]:
    """Make `connection`'s open transaction the ambient one for the block."""
    token = _ambient.set(Ambient(engine, connection))
    try:
        yield
    finally:
        _ambient.reset(token)


@contextmanager
def transaction(
    engine: Engine, *, read_only: bool = False, connection: Connection | None = None
) -> Iterator[Connection]:
    """One transaction, committed when the block ends without an exception; on a
    connection from the pool, or on `connection` (one a caller keeps open) if given.
    Inside a unit of work on `engine`, the block joins its transaction instead (nothing
    is committed here: the unit commits or rolls back whole). A write transaction opened
    here is the ambient one for the block, so what it calls joins it (on SQLite a thread
    holding the write lock must never wait for another writer)."""
    if connection is None:
        joined_connection = ambient(engine)
        if joined_connection is not None:
            yield joined_connection
            return
    if connection is not None:
        with connection.begin(), joined(engine, connection):
            yield connection
        return
    if read_only:
        options = READ_ONLY if is_sqlite(engine) else {}
        with engine.connect().execution_options(**options) as pooled, pooled.begin():
            yield pooled
        return
    with engine.connect() as pooled, pooled.begin(), joined(engine, pooled):
        yield pooled


def run_in_transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    read_only: bool = False,
    connection: Connection | None = None,
) -> T:
    """Run `work` in one transaction, retried from the start when it loses a race.

    Inside a unit of work on `engine`, `work` runs there and then, in the unit's
    transaction (a race propagates to the unit's owner). Outside one, a write goes to the
    engine's writer when one is installed (group-committed with others), and runs here
    otherwise.

    Raises TransactionBusy when the retries run out; any other error propagates."""
    if connection is None:
        joined_connection = ambient(engine)
        if joined_connection is not None:
            return work(joined_connection)
        if not read_only:
            writer = writer_for(engine)
            if writer is not None:
                return writer.run(work)
    return _own_transaction(engine, work, read_only=read_only, connection=connection)


def submit_in_transaction(engine: Engine, work: Callable[[Connection], T]) -> Future[T]:
    """`run_in_transaction` for an event loop: a future of the result (or of the error),
    completed once the writer has committed; without a writer the work runs now."""
    if ambient(engine) is None:
        writer = writer_for(engine)
        if writer is not None:
            return writer.submit(work)
    future: Future[T] = Future()
    try:
        future.set_result(run_in_transaction(engine, work))
    except Exception as error:  # handed to the awaiting caller, as the writer does
        future.set_exception(error)
    return future


def _own_transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    read_only: bool,
    connection: Connection | None,
) -> T:
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
