"""How many SQL statements this process sends to the database, and how many commits.

Counted in two places, because the hot paths use two ways in: statements that go through
SQLAlchemy (Core constructs and `exec_driver_sql`, including SQLite's `BEGIN`) are seen by
a `before_cursor_execute` listener on the engine; the ledger's bulk SQL goes straight to
the driver's cursor and is counted by wrapping that cursor (`counted_cursor`). An
`executemany` or a `COPY` is one statement: one round trip carrying many rows.

Whoever wants the figures (the metrics endpoint, a test) registers an observer; with none
registered, counting costs one attribute read per statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

StatementObserver = Callable[[str], None]  # called with "statement" or "commit"

_observers: list[StatementObserver] = []


def observe_statements(observer: StatementObserver) -> None:
    """Call `observer("statement")` for every SQL statement sent and `observer("commit")`
    for every commit, from now on, in this process."""
    if observer not in _observers:
        _observers.append(observer)


def forget_statements(observer: StatementObserver) -> None:
    if observer in _observers:
        _observers.remove(observer)


def _seen(what: str) -> None:
    for observer in _observers:
        observer(what)


def count_statements(engine: Engine) -> None:
    """Count what goes through `engine`: its statements and its commits."""

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        if _observers:
            _seen("statement")

    @event.listens_for(engine, "commit")
    def _commit(*_: Any) -> None:
        if _observers:
            _seen("commit")


class CountedCursor:
    """A driver cursor whose `execute`, `executemany` and `copy` are counted."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        if _observers:
            _seen("statement")
        return self._cursor.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        if _observers:
            _seen("statement")
        return self._cursor.executemany(*args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        if _observers:
            _seen("statement")
        return self._cursor.copy(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def counted_cursor(cursor: Any) -> Any:
    return CountedCursor(cursor)
