"""Group commit: taps from many request threads share one transaction and one commit.

On SQLite with `synchronous=FULL` a commit costs an fsync (~2 ms here), which caps one
writer at a few hundred commits a second. One writer thread takes every unit of work
waiting in the queue, runs each inside its own savepoint (a tap that fails rolls back
alone), commits once, then answers every caller. Nobody waits for a batch to fill: a
batch is whatever arrived while the previous commit ran, so an idle server commits each
tap at once and a busy one amortises the fsync over many.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from obolo.adapters.db.transactions import is_retryable
from obolo.ledger import Ledger, LedgerSession

Work = Callable[[LedgerSession], Any]


def run_each(session: LedgerSession, works: Sequence[Work]) -> list[Any]:
    """Run each unit of work in a savepoint of the session's transaction; one result per
    work, in order: its value, or the exception that rolled it (alone) back. A race the
    database wants retried is raised, so the whole transaction reruns from the start."""
    # Plain SAVEPOINT statements on the ledger's cursor: SQLAlchemy's nested transactions
    # cost more than the tap they wrap.
    cursor = session.store.cursor
    results: list[Any] = []
    for work in works:
        cursor.execute("SAVEPOINT work")
        try:
            results.append(work(session))
        except (DBAPIError, sqlite3.Error, psycopg.Error) as error:
            if is_retryable(error):
                raise
            cursor.execute("ROLLBACK TO SAVEPOINT work")
            results.append(error)
        except Exception as error:  # the caller gets its own error back, the others go on
            cursor.execute("ROLLBACK TO SAVEPOINT work")
            results.append(error)
        cursor.execute("RELEASE SAVEPOINT work")
    return results


class GroupCommit:
    def __init__(self, ledger: Ledger, max_batch: int = 256) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Work, Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.works = 0
        self._connection: Connection | None = None  # the commit thread's own
        self._closed = False

    def __call__(self, work: Work) -> Any:
        """Run `work` in the next shared transaction; its value, or its exception, once committed."""
        return self.submit(work).result()

    def submit(self, work: Work) -> Future[Any]:
        """Queue `work` for the next shared transaction; the future completes after the commit."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="obolo-tap-commit", daemon=True)
                    self._thread.start()
        future: Future[Any] = Future()
        if self._closed:  # nobody would ever run it: say so rather than leave the caller waiting
            future.set_exception(RuntimeError("the group commit is closed"))
            return future
        self._queue.put((work, future))
        return future

    def close(self) -> None:
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            while len(items) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                items.append(item)
            self._run(items)

    def _run(self, items: list[tuple[Work, Future[Any]]]) -> None:
        works = [work for work, _ in items]
        # One connection kept by this thread: taking one from the pool and giving it back
        # (with its reset) cost more than the tap it carried.
        try:  # the connection is made inside: a database that is down must not end this thread
            if self._connection is None:
                self._connection = self.ledger.engine.connect()
            connection = self._connection
            results = self.ledger.run(lambda session: run_each(session, works), connection=connection)
        except Exception as error:  # no connection, or the commit failed: every caller hears it
            if self._connection is not None:  # and the next batch starts on a fresh one
                self._connection.invalidate()  # it may be broken: the pool must not reuse it
                self._connection.close()
                self._connection = None
            for _, future in items:
                future.set_exception(error)
            return
        self.batches += 1
        self.works += len(items)
        for (_, future), result in zip(items, results, strict=True):
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
