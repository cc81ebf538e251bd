"""The write path: units of work from many threads share one transaction and one commit,
each failing alone; the writer outlives a database that is down (callers hear the error,
the next batch commits on a fresh connection); once closed, it refuses work at once."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from obolo.adapters.db.engine import make_engine
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
