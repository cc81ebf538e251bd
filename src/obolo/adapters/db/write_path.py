"""The one write path: every write transaction of the process, group-committed.

On SQLite with `synchronous=FULL` a commit costs an fsync (~2 ms here), which caps one
writer at a few hundred commits a second, and writers on several threads wait for the
write lock by polling with sleeps. So one writer thread takes every unit of work waiting
in the queue, runs each in the same transaction, commits once, then answers every caller.
Nobody waits for a batch to fill: a batch is whatever arrived while the previous commit
ran, so an idle server commits each unit at once and a busy one amortises the commit
over many.

Savepoints only once something failed: a batch first runs with none (a savepoint pair is
two statements a unit, and failures are rare). If a unit of several fails, the batch is
rolled back and run again with each unit in its own savepoint, so the failure is that
unit's alone. A unit alone in its batch never needs one: its failure rolls back the
transaction and is its answer (a unit that would undo part of its work and go on asks
for a rerun with a savepoint: `transactions.Isolate`).

A race the database wants retried (deadlock, serialization failure, busy, a unique key
inserted concurrently) reruns the whole batch from the start; a unit that keeps losing
its race is answered `TransactionBusy` and the others go on. A failed commit (or a lost
connection) fails every unit of the batch, and the next batch starts on a fresh
connection. Units are code that touches only the database: a rerun must be
indistinguishable from a first run.

While a unit runs, its transaction is the ambient one (see `transactions.py`): what it
calls joins it. On PostgreSQL more than one writer thread may share the queue, each
batching on its own connection (`threads`).
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.transactions import (
    RETRIES,
    Isolate,
    TransactionBusy,
    ambient,
    install_writer,
    is_retryable,
    joined,
    remove_writer,
    running_optimistically,
    storage_failure,
)

T = TypeVar("T")
Work = Callable[[Connection], Any]
#: A unit that loses its race this many times in a row is answered TransactionBusy alone.
_STRIKES = 3
_DATABASE_ERRORS = (DBAPIError, sqlite3.Error, psycopg.Error)


class _Retry(Exception):
    """A unit lost a race: roll the batch back and run it again."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class _Isolate(Exception):
    """A unit failed with no savepoint to fall back on: roll the batch back and run it
    again with a savepoint around each unit."""


class _Failed(Exception):
    """The only unit of a batch failed: roll back rather than commit."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Unit:
    work: Work
    future: Future[Any]
    context: contextvars.Context
    strikes: int = 0
    result: Any = field(default=None)


def run_each(connection: Connection, works: Sequence[Callable[[Connection], Any]]) -> list[Any]:
    """Run each work in a savepoint of the connection's open transaction; one result per
    work, in order: its value, or the exception that rolled it (alone) back. A race the
    database wants retried is raised, so the whole transaction reruns from the start."""
    results: list[Any] = []
    for work in works:
        connection.exec_driver_sql("SAVEPOINT unit")
        try:
            results.append(work(connection))
        except _DATABASE_ERRORS as error:
            if is_retryable(error):
                raise
            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT unit")
            results.append(error)
        except Exception as error:  # the caller gets its own error back, the others go on
            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT unit")
            results.append(error)
        connection.exec_driver_sql("RELEASE SAVEPOINT unit")
    return results


class WritePath:
    """The writer of one engine. `run(work)` returns once `work` has committed (or raises
    its error); installed, it carries every write `run_in_transaction` of the process."""

    def __init__(self, engine: Engine, *, threads: int = 1, max_batch: int = 256) -> None:
        self.engine = engine
        # SQLite has one write lock: a second writer thread would only wait for it.
        self.threads = 1 if is_sqlite(engine) else max(1, threads)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Unit | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        # Bumped when the engine is disposed (its connections dropped on purpose, e.g. after
        # a failover or a change of settings): the writers' kept connections go too.
        self._generation = 0
        event.listen(engine, "engine_disposed", self._renew)
        self.batches = 0  # commits made
        self.units = 0  # units committed or answered with their own error

    # -- for callers -------------------------------------------------------------------
    def install(self) -> WritePath:
        """Carry every write transaction on the engine from now on."""
        install_writer(self.engine, self)
        return self

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in the next shared transaction: its value, or its exception, once
        committed. Inside a unit already, `work` joins it."""
        connection = ambient(self.engine)
        if connection is not None:
            return work(connection)
        return self.submit(work).result()

    def submit(self, work: Callable[[Connection], T]) -> Future[T]:
        """Queue `work` for the next shared transaction; the future completes after the
        commit. The work runs in a copy of the caller's context (its log fields)."""
        future: Future[T] = Future()
        if self._closed:  # nobody would ever run it: say so rather than leave the caller waiting
            future.set_exception(RuntimeError("the write path is closed"))
            return future
        if not self._workers:
            self._start()
        self._queue.put(_Unit(work, future, contextvars.copy_context()))
        return future

    def _renew(self, _engine: Engine) -> None:
        self._generation += 1

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):  # closing twice is fine
            event.remove(self.engine, "engine_disposed", self._renew)
        remove_writer(self.engine, self)
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=5)

    # -- the writer threads ------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._workers:
                return
            for number in range(self.threads):
                worker = threading.Thread(target=self._loop, name=f"obolo-writer-{number}", daemon=True)
                worker.start()
                self._workers.append(worker)

    def _loop(self) -> None:
        connection: Connection | None = None  # this thread's own, kept between batches
        generation = self._generation
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                if generation != self._generation and connection is not None:
                    connection.close()  # the engine was disposed: start on a fresh connection
                    connection = None
                generation = self._generation
                units = [first]
                while len(units) < self.max_batch:
                    try:
                        unit = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if unit is None:
                        self._queue.put(None)  # for this thread's next turn
                        break
                    units.append(unit)
                # A caller that gave up while its unit waited (its future cancelled: an
                # event loop's request cancelled) gets nothing run; the others can no
                # longer be cancelled, so every answer below finds its future waiting.
                units = [unit for unit in units if unit.future.set_running_or_notify_cancel()]
                if units:
                    connection = self._commit(units, connection)
        finally:
            if connection is not None:
                connection.close()

    def _commit(self, units: list[_Unit], connection: Connection | None) -> Connection | None:
        """Run the batch to a commit (rerunning it after a race) and answer every unit; the
        connection to use next (None when this one may be broken)."""
        attempt = 0
        isolated = False  # each unit in a savepoint: once one has failed in this batch
        while units:
            try:
                # Made here: a database that is down must not end the thread.
                if connection is None:
                    connection = self.engine.connect()
                with connection.begin():
                    self._run_units(connection, units, isolated)
            except _Isolate:  # rolled back: the same units again, each able to fail alone
                isolated = True
                continue
            except _Retry as lost:
                units = self._after_race(units, lost.index, lost.error)
                attempt += 1
                if attempt >= RETRIES:
                    for unit in units:
                        unit.future.set_exception(TransactionBusy(str(lost.error)))
                    return connection
                time.sleep(min(0.2, 0.002 * 2**attempt) * random.random())
                continue
            except _Failed as failed:  # the only unit failed: rolled back, answered with its error
                self.units += 1
                units[0].future.set_exception(failed.error)
                if storage_failure(failed.error) is not None:
                    return self._discard(connection)  # lost: the next batch starts on a fresh one
                return connection
            except _DATABASE_ERRORS as error:
                if is_retryable(error) and attempt < RETRIES - 1:  # the commit itself lost a race
                    attempt += 1
                    continue
                self._fail_all(units, error)
                return self._discard(connection)
            except Exception as error:  # no connection, or the commit failed: every caller hears it
                self._fail_all(units, error)
                return self._discard(connection)
            self.batches += 1
            self.units += len(units)
            for unit in units:
                if isinstance(unit.result, BaseException):
                    unit.future.set_exception(unit.result)
                else:
                    unit.future.set_result(unit.result)
            return connection
        return connection

    def _run_units(self, connection: Connection, units: list[_Unit], isolated: bool) -> None:
        """Run the batch's units in the connection's transaction. At first no unit has a
        savepoint (two statements each, and failures are rare): a unit's failure rolls
        the whole batch back (`_Isolate`) and it runs again `isolated`, each unit in its
        own savepoint so that one fails alone. A unit alone in its batch needs no
        savepoint even then: its failure rolls back the transaction and is its answer,
        unless it asked to run again with one (`Isolate`)."""
        if len(units) == 1:
            unit = units[0]
            try:
                unit.result = unit.context.run(self._run_one, connection, unit.work, not isolated)
            except Isolate as error:
                if isolated:  # cannot happen: a unit raises it only when run optimistically
                    raise _Failed(error) from error
                raise _Isolate() from error
            except _DATABASE_ERRORS as error:
                if is_retryable(error):
                    raise _Retry(0, error) from error
                raise _Failed(error) from error
            except Exception as error:
                raise _Failed(error) from error
            return
        if not isolated:
            for index, unit in enumerate(units):
                try:
                    unit.result = unit.context.run(self._run_one, connection, unit.work, True)
                except _DATABASE_ERRORS as error:
                    if is_retryable(error):
                        raise _Retry(index, error) from error
                    if storage_failure(error) is not None:
                        raise  # the connection itself is lost: every unit of the batch hears it
                    raise _Isolate() from error
                except Exception as error:
                    raise _Isolate() from error
            return
        for index, unit in enumerate(units):
            connection.exec_driver_sql("SAVEPOINT unit")
            try:
                unit.result = unit.context.run(self._run_one, connection, unit.work, False)
            except _DATABASE_ERRORS as error:
                if is_retryable(error):
                    raise _Retry(index, error) from error
                if storage_failure(error) is not None:
                    raise  # the connection itself is lost: every unit of the batch hears it
                connection.exec_driver_sql("ROLLBACK TO SAVEPOINT unit")
                unit.result = error
            except Exception as error:  # the caller gets its own error back, the others go on
                connection.exec_driver_sql("ROLLBACK TO SAVEPOINT unit")
                unit.result = error
            connection.exec_driver_sql("RELEASE SAVEPOINT unit")

    def _run_one(self, connection: Connection, work: Work, optimistic: bool) -> Any:
        with joined(self.engine, connection), running_optimistically(optimistic):
            return work(connection)

    def _after_race(self, units: list[_Unit], index: int, error: Exception) -> list[_Unit]:
        """The units to run again: all, but one that lost its race too often is answered."""
        loser = units[index]
        loser.strikes += 1
        if loser.strikes < _STRIKES or len(units) == 1:
            return units
        loser.future.set_exception(TransactionBusy(str(error)))
        return [unit for unit in units if unit is not loser]

    @staticmethod
    def _fail_all(units: list[_Unit], error: Exception) -> None:
        for unit in units:
            unit.future.set_exception(error)

    @staticmethod
    def _discard(connection: Connection | None) -> None:
        if connection is not None:  # it may be broken: the pool must not reuse it
            with contextlib.suppress(Exception):  # already gone: nothing to give back
                connection.invalidate()
                connection.close()
        return None
