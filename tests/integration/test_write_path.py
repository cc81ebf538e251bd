"""The write path: units of work from many threads share one transaction and one commit,
each failing alone; the writer outlives a database that is down (callers hear the error,
the next batch commits on a fresh connection); once closed, it refuses work at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.db.write_path import WritePath


def count_rows(connection) -> int:
    return connection.exec_driver_sql("SELECT count(*) FROM marks").scalar_one()


def mark(connection) -> int:
    connection.exec_driver_sql("INSERT INTO marks DEFAULT VALUES")
    return count_rows(connection)


def test_a_failed_connection_is_answered_and_the_next_batch_commits(sqlite_url, monkeypatch):
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE marks (id INTEGER PRIMARY KEY)")
    runner = WritePath(engine)
    real_connect = engine.connect
    refusals = iter([OperationalError("connect", {}, Exception("the database is down"))])

    def connect_when_up():
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        return real_connect()

    monkeypatch.setattr(engine, "connect", connect_when_up)
    try:
        with pytest.raises(OperationalError):  # not a wait forever: the thread is not dead
            runner.submit(mark).result(timeout=5)
        assert runner.submit(mark).result(timeout=5) == 1  # the thread is alive, and committed
        assert runner.run(count_rows) == 1
    finally:
        runner.close()
        engine.dispose()


def test_work_sent_after_close_is_refused_not_left_waiting(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE marks (id INTEGER PRIMARY KEY)")
    runner = WritePath(engine)
    try:
        assert runner.run(mark) == 1
        runner.close()
        with pytest.raises(RuntimeError, match="closed"):
            runner.submit(mark).result(timeout=5)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM marks").scalar_one() == 1
    finally:
        engine.dispose()


def marks_table(engine) -> None:
    kind = "INTEGER" if engine.dialect.name == "sqlite" else "SERIAL"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE marks (id {kind} PRIMARY KEY)")


def holding(started: threading.Event, release: threading.Event):
    """A unit that keeps the writer busy (so the next units wait together) until released."""

    def hold(connection) -> None:
        started.set()
        release.wait(10)

    return hold


def fail(connection) -> None:
    connection.exec_driver_sql("INSERT INTO marks DEFAULT VALUES")
    raise ValueError("this unit's own refusal")


def test_units_waiting_together_share_one_commit_and_a_failing_one_rolls_back_alone(db_url):
    """What waits while a commit runs is the next batch, one transaction: a unit that fails
    in it undoes only its own writes and hears its own error; the others commit."""
    engine = make_engine(db_url)
    marks_table(engine)
    runner = WritePath(engine)
    started, release = threading.Event(), threading.Event()
    hold = holding(started, release)

    try:
        held = runner.submit(hold)
        assert started.wait(10)
        waiting = [runner.submit(fail if n == 4 else mark) for n in range(10)]
        release.set()
        held.result(timeout=10)
        with pytest.raises(ValueError, match="own refusal"):
            waiting[4].result(timeout=10)
        assert [f.result(timeout=10) for n, f in enumerate(waiting) if n != 4]  # each committed
        assert runner.batches == 2  # the held unit's commit, then all ten together
        with engine.connect() as connection:
            assert count_rows(connection) == 9
    finally:
        runner.close()
        engine.dispose()


def test_a_write_inside_a_unit_joins_it_and_a_read_outside_does_not_wait(db_url):
    """Inside a unit, `run_in_transaction` runs on the unit's connection (one commit);
    outside, a write is handed to the installed writer and a read stays on the caller."""
    engine = make_engine(db_url)
    marks_table(engine)
    runner = WritePath(engine).install()
    try:

        def twice(connection) -> tuple[bool, int]:
            inner = run_in_transaction(engine, lambda joined: joined is connection and mark(joined) > 0)
            return inner, mark(connection)

        assert run_in_transaction(engine, twice) == (True, 2)
        assert runner.batches == 1
        assert run_in_transaction(engine, count_rows, read_only=True) == 2
        assert runner.batches == 1
    finally:
        runner.close()
        engine.dispose()


def test_units_take_savepoints_only_once_one_has_failed(db_url):
    """A batch runs without savepoints (two statements a unit); when a unit fails, the
    batch is rolled back and run again with one around each unit, so the failure stays
    its own and the others commit once, each exactly once."""
    engine = make_engine(db_url)
    marks_table(engine)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2].split()[0].upper()))
    runner = WritePath(engine)
    started, release = threading.Event(), threading.Event()
    hold = holding(started, release)

    def batch(works) -> list:
        held = runner.submit(hold)
        assert started.wait(10)
        waiting = [runner.submit(work) for work in works]
        release.set()
        held.result(timeout=10)
        started.clear()
        release.clear()
        return waiting

    try:
        sent.clear()
        assert [f.result(timeout=10) for f in batch([mark] * 5)]
        assert "SAVEPOINT" not in sent
        sent.clear()
        waiting = batch([mark, fail, mark])
        with pytest.raises(ValueError, match="own refusal"):
            waiting[1].result(timeout=10)
        assert waiting[0].result(timeout=10)
        assert waiting[2].result(timeout=10)
        assert sent.count("SAVEPOINT") == 3  # the rerun, one a unit
        assert runner.batches == 4
        with engine.connect() as connection:
            assert count_rows(connection) == 7
    finally:
        runner.close()
        engine.dispose()


def test_a_unit_given_up_before_it_ran_is_skipped_and_the_writer_goes_on(sqlite_url):
    """A caller that cancels its future while the unit still waits (an event loop whose
    request was cancelled) gets nothing run for it, and the writer serves the next units."""
    engine = make_engine(sqlite_url)
    marks_table(engine)
    runner = WritePath(engine)
    started, release = threading.Event(), threading.Event()
    try:
        held = runner.submit(holding(started, release))
        assert started.wait(10)
        given_up = runner.submit(mark)
        assert given_up.cancel()
        release.set()
        held.result(timeout=10)
        assert runner.submit(mark).result(timeout=10) == 1  # the writer lives; the given-up mark never ran
    finally:
        release.set()
        runner.close()
        engine.dispose()
