"""Database engines for the two supported backends, with the settings Obolo relies on.

SQLite runs in WAL mode with `synchronous=FULL` (a committed transfer survives a power
cut) and takes the write lock at BEGIN (`BEGIN IMMEDIATE`), so two writers never both
read a balance and then race to update it. PostgreSQL runs at READ COMMITTED; the ledger
locks the accounts it changes with `SELECT ... FOR UPDATE`, in id order.

`OBOLO_SQLITE_PRAGMAS` (for fault drills, never for production) adds limits to every new
SQLite connection: `max_page_count=N` makes the database "full" at N pages, `query_only=1`
makes it read-only, as a full disk or a read-only file would.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from obolo.adapters.db.statements import count_statements

DEFAULT_URL = "sqlite:///obolo.db"
#: The only pragmas OBOLO_SQLITE_PRAGMAS may set: limits, never weaker durability.
DRILL_PRAGMAS = frozenset({"max_page_count", "query_only"})
#: Pass as an execution option to read without taking SQLite's write lock.
READ_ONLY = {"obolo_begin": "DEFERRED"}


def database_url(url: str | None = None) -> str:
    """The URL to use: the one given, else OBOLO_DATABASE_URL, else ./obolo.db.

    `postgresql://` and `postgres://` are taken to mean the psycopg 3 driver."""
    chosen = url or os.environ.get("OBOLO_DATABASE_URL") or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen[len(prefix) :]
    return chosen


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, in_memory=parsed.database in (None, "", ":memory:"), **kwargs)
    else:
        # No ping per checkout: it is one more round trip on every request, and a connection
        # found lost mid-request already fails as `database_unavailable` (retried by clients).
        engine = create_engine(url, **kwargs)
    count_statements(engine)
    return engine


def drill_pragmas(text: str | None = None) -> list[tuple[str, int]]:
    """The limits OBOLO_SQLITE_PRAGMAS asks for ("max_page_count=400,query_only=1")."""
    text = os.environ.get("OBOLO_SQLITE_PRAGMAS", "") if text is None else text
    chosen = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        name = name.strip().lower()
        if name not in DRILL_PRAGMAS or not value.strip().isdigit():
            raise ValueError(
                f"OBOLO_SQLITE_PRAGMAS: {item!r} is not one of {sorted(DRILL_PRAGMAS)}=<integer>"
            )
        chosen.append((name, int(value)))
    return chosen


def _sqlite_engine(url: str, *, in_memory: bool, **kwargs: Any) -> Engine:
    limits = drill_pragmas()
    connect_args = {"timeout": 60, "check_same_thread": False}
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, below, issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        for name, value in limits:
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("obolo_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
