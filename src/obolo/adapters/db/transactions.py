"""Run one unit of work in one transaction, again from the start if the database says it
lost a race (deadlock, serialization failure, a busy SQLite, a concurrent insert of the
same unique key). The work must do nothing outside the transaction (no HTTP calls, no
emails): a rerun must be indistinguishable from a first run."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from obolo.adapters.db.engine import READ_ONLY, is_sqlite

T = TypeVar("T")
RETRIES = 20
# Deadlock, serialization failure, lock not available: PostgreSQL says "try again".
_RETRY_SQLSTATES = {"40P01", "40001", "55P03"}


class TransactionBusy(Exception):
    """The work kept losing races until the retries ran out."""


def is_retryable(error: DBAPIError) -> bool:
    if isinstance(error, IntegrityError):
        # A unique key inserted concurrently: a rerun sees the winner's row.
        return True
    if getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    return isinstance(error, OperationalError) and "locked" in str(error.orig).lower()


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False) -> Iterator[Connection]:
    """One transaction, committed when the block ends without an exception."""
    options = READ_ONLY if read_only and is_sqlite(engine) else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def run_in_transaction(engine: Engine, work: Callable[[Connection], T], *, read_only: bool = False) -> T:
    """Run `work` in one transaction, retried from the start when it loses a race.

    Raises TransactionBusy when the retries run out; any other error propagates."""
    for attempt in range(RETRIES):
        try:
            with transaction(engine, read_only=read_only) as connection:
                return work(connection)
        except DBAPIError as error:
            if not is_retryable(error):
                raise
            if attempt == RETRIES - 1:
                raise TransactionBusy(str(error.orig)) from error
            time.sleep(min(0.2, 0.002 * 2**attempt) * random.random())
    raise AssertionError("unreachable")
