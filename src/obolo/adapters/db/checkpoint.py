"""WAL checkpoints beside the writer, not inside its commits (SQLite).

By default SQLite copies the write-ahead log back into the database file inside the
commit that takes the log past 1,000 pages. Group-committed taps fill that every third of
a second at 500 taps/s, so the commit that trips it waits for the copy and an fsync of
the database file, and so does every tap queued behind it: that was most of the tap
path's p99. A connection that commits that often hands its checkpoints to this thread
(`take_over`): it runs PASSIVE checkpoints, which copy the log without taking any lock
a writer needs. A log still long after one (it keeps growing under steady writes)
gets a RESTART checkpoint, which waits a few milliseconds at most for the writer lock; once
it completes, the next commit writes the log from its start again, so the file stays
bounded. Every checkpoint failing is logged and tried again at the next round.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

log = structlog.get_logger("obolo.db")

_RESTART_WAIT_MS = 5  # how long a RESTART may wait for the writer or readers before it gives up


def applies_to(engine: Engine) -> bool:
    """Only a SQLite database in a file has a write-ahead log."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


class WalCheckpointer:
    def __init__(self, engine: Engine, every_seconds: float = 0.1, restart_after_pages: int = 4000) -> None:
        self.engine = engine
        self.every_seconds = every_seconds
        self.restart_after_pages = restart_after_pages
        self.checkpoints = 0
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connection: Any = None  # this thread's own DB-API connection

    def take_over(self, connection: Connection) -> None:
        """From now on `connection` never checkpoints in its commits; this thread does.
        Invalidate the connection when done with it, so that no other user of the pool
        inherits the setting."""
        driver: sqlite3.Connection = connection.connection.dbapi_connection  # type: ignore[assignment]
        driver.execute("PRAGMA wal_autocheckpoint=0")
        with self._lock:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="obolo-wal-checkpoint", daemon=True)
                self._thread.start()

    def checkpoint(self) -> tuple[int, int]:
        """One round: (pages in the log, pages copied into the database file so far)."""
        if self._connection is None:
            raw = self.engine.raw_connection()
            raw.detach()
            self._connection = raw.dbapi_connection
            self._connection.execute(f"PRAGMA busy_timeout={_RESTART_WAIT_MS}")
        _busy, pages, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        if pages >= self.restart_after_pages:
            busy, pages, copied = self._connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += not busy
        return pages, copied

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)
        self._drop_connection()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                self.checkpoint()
            except Exception as error:  # the next round tries again, on a new connection
                log.warning("wal checkpoint failed", error_type=type(error).__name__, error=str(error))
                self._drop_connection()

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
