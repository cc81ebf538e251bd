"""Checkpoints beside the writer (SQLite): a connection handed over stops checkpointing in
its commits, the checkpoint thread copies the log instead and keeps it bounded under
steady writes, nothing written is lost, and the pool never hands the setting on."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import text

from obolo.adapters.db.checkpoint import WalCheckpointer, applies_to
from obolo.adapters.db.engine import make_engine
from obolo.ledger import Ledger
from obolo.tap.group_commit import GroupCommit

PAGE = 4096
ROW = "INSERT INTO filler (blob) VALUES (randomblob(3000))"


@pytest.fixture
def engine(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE filler (id INTEGER PRIMARY KEY, blob BLOB)")
    yield engine
    engine.dispose()


def wal_bytes(engine) -> int:
    return os.path.getsize(f"{engine.url.database}-wal")


def write(connection, commits: int) -> None:
    for _ in range(commits):
        with connection.begin():
            connection.exec_driver_sql(ROW)


def pragma(connection, statement: str) -> tuple:
    """On the driver's connection: through SQLAlchemy it would run in a transaction."""
    return connection.connection.dbapi_connection.execute(f"PRAGMA {statement}").fetchone()


def autocheckpoint(connection) -> int:
    return pragma(connection, "wal_autocheckpoint")[0]


def test_only_a_sqlite_file_has_a_log_to_checkpoint(sqlite_url):
    assert applies_to(make_engine(sqlite_url))
    assert not applies_to(make_engine("sqlite://"))
    assert not applies_to(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))


def test_a_handed_over_connection_leaves_checkpoints_to_the_thread(engine):
    """1,500 commits of a page or more: left alone, SQLite would have copied the log back at
    1,000 pages inside a commit; handed over, the log holds them all until the checkpoint
    copies them, and past the restart size the next commit starts the log over."""
    checkpoints = WalCheckpointer(engine, every_seconds=3600, restart_after_pages=1000)
    writer = engine.connect()
    try:
        checkpoints.take_over(writer)
        assert autocheckpoint(writer) == 0
        write(writer, 1500)
        assert wal_bytes(engine) > 1500 * PAGE  # no commit checkpointed
        pages, copied = checkpoints.checkpoint()
        assert pages == copied > 1500  # all of the log copied into the database file
        assert checkpoints.restarts == 1
        write(writer, 1)
        with engine.connect() as reader:
            log_pages = pragma(reader, "wal_checkpoint(PASSIVE)")[1]
            assert log_pages <= 3  # the commit wrote from the log's start
            assert reader.exec_driver_sql("SELECT count(*) FROM filler").scalar_one() == 1501
            assert reader.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    finally:
        writer.invalidate()
        writer.close()
        checkpoints.close()


def test_the_thread_keeps_the_log_bounded_under_steady_writes(engine):
    """1,000 commits with the short gaps a busy group commit leaves: they write about 3,000
    pages to the log (3,026 with nobody checkpointing), yet the file stays a fraction of it."""
    checkpoints = WalCheckpointer(engine, every_seconds=0.005, restart_after_pages=100)
    writer = engine.connect()
    largest = 0
    try:
        checkpoints.take_over(writer)
        for _ in range(20):
            for _ in range(50):
                write(writer, 1)
                time.sleep(0.0005)
            largest = max(largest, wal_bytes(engine))
    finally:
        writer.invalidate()
        writer.close()
        checkpoints.close()
    assert checkpoints.checkpoints > 0
    assert largest < 1000 * PAGE
    with engine.connect() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM filler").scalar_one() == 1000
        assert reader.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


def test_a_failed_checkpoint_round_is_logged_and_the_next_one_works(engine, monkeypatch):
    """The thread survives a checkpoint that raises: it opens a new connection and goes on."""
    checkpoints = WalCheckpointer(engine, every_seconds=0.005, restart_after_pages=10**9)
    calls = []
    real = WalCheckpointer.checkpoint

    def flaky(self):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk hiccup")
        return real(self)

    monkeypatch.setattr(WalCheckpointer, "checkpoint", flaky)
    writer = engine.connect()
    try:
        checkpoints.take_over(writer)
        deadline = time.monotonic() + 5
        while checkpoints.checkpoints < 2:
            assert time.monotonic() < deadline, "the thread stopped after a failed round"
            time.sleep(0.01)
    finally:
        writer.invalidate()
        writer.close()
        checkpoints.close()
    assert not any(t.name == "obolo-wal-checkpoint" for t in threading.enumerate())


def test_group_commit_hands_its_checkpoints_over_and_the_pool_never_inherits_it(engine):
    """The commit thread's connection does not checkpoint; when the group commit closes, that
    connection is discarded, so connections from the pool checkpoint as usual."""
    ledger = Ledger(engine)
    checkpoints = WalCheckpointer(engine, every_seconds=3600)
    runner = GroupCommit(ledger, checkpoints=checkpoints)
    setting = runner(lambda session: session.connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar())
    runner(lambda session: session.connection.execute(text(ROW)))
    runner.close()
    assert setting == 0
    for _ in range(engine.pool.size() + 1):
        with engine.connect() as connection:
            assert autocheckpoint(connection) == 1000
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM filler").scalar_one() == 1
