"""The tap path's plain SQL, run on the ledger session's driver cursor, and the rows it returns."""

from __future__ import annotations

from typing import Any

from obolo.adapters.db.schema_tap import tap_days, tap_taps
from obolo.ledger import LedgerSession


class Row:
    """A row by column name: what the hot path's plain SQL returns, and what jobs that join
    other tables hand to `pay_now` and `record_debt`."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # only reached for a column that was not selected
        raise AttributeError(name)


# The tap path runs as plain SQL on the ledger session's driver cursor: building SQLAlchemy
# expressions cost more than running them (see docs/benchmarks.md, "Tap").
AUTH_SQL = (
    "SELECT t.id, t.mode, t.key_hash, t.public_key, t.disabled_at, m.provider_id, m.kind, m.asset,"
    " m.account_id, m.fare, m.daily_cap, m.weekly_cap, m.offline_limit"
    " FROM tap_terminals t JOIN tap_merchants m ON m.provider_id = t.merchant_id WHERE t.id = ?"
)
# The owner's standing comes with the card: a frozen or closed account's cards are blocked.
CARD_SQL = (
    "SELECT c.id, c.asset, c.account_id, c.user_id, c.blocked_at, c.owed, s.frozen_at, s.closed_at"
    " FROM tap_cards c LEFT JOIN account_standing s ON s.user_id = c.user_id WHERE c.uid_hash = ?"
)
# Either side of the tap: an offline batch may bring the later tap of a double tap first.
DOUBLE_TAP_SQL = (
    "SELECT id, tapped_at FROM tap_taps WHERE card_id = ? AND terminal_id = ? AND tapped_at <= ?"
    " AND tapped_at >= ? AND status = 'approved' AND duplicate_of IS NULL ORDER BY tapped_at LIMIT 1"
)
TAP_COLUMNS = tuple(column.name for column in tap_taps.columns)
INSERT_TAP_SQL = (
    f"INSERT INTO tap_taps ({', '.join(TAP_COLUMNS)}) VALUES ({', '.join('?' * len(TAP_COLUMNS))})"
)
DAY_COLUMNS = tuple(column.name for column in tap_days.columns)
INSERT_DAY_SQL = (
    f"INSERT INTO tap_days ({', '.join(DAY_COLUMNS)}) VALUES ({', '.join('?' * len(DAY_COLUMNS))})"
)
WEEK_SQL = f"SELECT {', '.join(DAY_COLUMNS)} FROM tap_days WHERE card_id = ? AND merchant_id = ? AND week = ?"
UPDATE_DAY_SQL = "UPDATE tap_days SET accrued = ?, late = ?, fares = ?, taps = ? WHERE id = ?"
UPDATE_HOLD_SQL = "UPDATE tap_days SET hold_id = ?, hold_seq = ?, held = ? WHERE id = ?"


def sql_for(session: LedgerSession, sql: str) -> str:
    mark = session.store.mark
    return sql if mark == "?" else sql.replace("?", mark)


def execute(session: LedgerSession, sql: str, params: tuple[Any, ...]) -> Any:
    cursor = session.store.cursor
    cursor.execute(sql_for(session, sql), params)
    return cursor


def fetch_all(session: LedgerSession, sql: str, params: tuple[Any, ...]) -> list[Row]:
    cursor = execute(session, sql, params)
    names = [d[0] for d in cursor.description]
    return [Row(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def fetch(session: LedgerSession, sql: str, params: tuple[Any, ...]) -> Row | None:
    cursor = execute(session, sql, params)
    found = cursor.fetchone()
    if found is None:
        return None
    return Row(**dict(zip([d[0] for d in cursor.description], found, strict=True)))


__all__ = [
    "AUTH_SQL",
    "CARD_SQL",
    "DAY_COLUMNS",
    "DOUBLE_TAP_SQL",
    "INSERT_DAY_SQL",
    "INSERT_TAP_SQL",
    "TAP_COLUMNS",
    "UPDATE_DAY_SQL",
    "UPDATE_HOLD_SQL",
    "WEEK_SQL",
    "Row",
    "execute",
    "fetch",
    "fetch_all",
    "sql_for",
]
