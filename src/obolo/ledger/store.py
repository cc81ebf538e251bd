"""The ledger's SQL: loading what a batch needs and writing back what it decided.

One class per backend where they differ: PostgreSQL takes id lists as arrays
(`= ANY(%s)`), writes a large batch's transfers with binary COPY as the rules decide them
and updates accounts from a temporary table filled by COPY; SQLite binds id lists as
parameters and uses `executemany`. Both run inside the caller's
transaction, on the caller's connection.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.adapt import PyFormat
from sqlalchemy import Connection

from obolo.adapters.db.statements import counted_cursor
from obolo.ledger.batch import AccountChange, AccountRow, BatchOutcome, Decided
from obolo.ledger.model import (
    Account,
    AccountId,
    PendingState,
    PendingStatus,
    StoredTransfer,
    TransferId,
    TransferResult,
)
from obolo.ledger.rows import (
    ACCOUNT_COLUMNS,
    NO_ACCOUNT,
    PENDING_COLUMNS,
    TRANSFER_COLUMNS,
    account_from_row,
    id_bytes,
    id_int,
    metadata_text,
    pending_from_row,
    pending_row,
    transfer_from_row,
)

_SQLITE_CHUNK = 30_000  # below SQLite's 32,766 bound parameters per statement

#: (locked accounts, applied transfers among the ids, failed ids, pending states).
Loaded = tuple[
    dict[AccountId, tuple[AccountRow, int]],
    dict[TransferId, StoredTransfer],
    dict[TransferId, TransferResult],
    dict[TransferId, PendingState],
]


class SqlStore:
    """Statements shared by both backends; subclasses supply the bulk operations."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        # Counted, like every statement that goes through SQLAlchemy (adapters/db/statements).
        self.cursor = counted_cursor(connection.connection.driver_connection.cursor())  # type: ignore[union-attr]

    # -- reads by id lists ----------------------------------------------------------
    def _select_in(self, sql: str, ids: Collection[int]) -> list[Any]:
        raise NotImplementedError

    def transfers(self, ids: Collection[TransferId]) -> dict[TransferId, StoredTransfer]:
        """The applied transfers among `ids`."""
        rows = self._select_in(
            f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id IN {{ids}} AND failure IS NULL", ids
        )
        return {id_int(row[0]): transfer_from_row(row) for row in rows}

    def outcomes(
        self, ids: Collection[TransferId]
    ) -> tuple[dict[TransferId, StoredTransfer], dict[TransferId, TransferResult]]:
        """What became of each of `ids` already seen: (applied transfers, failures)."""
        return _split_outcomes(self._select_in(self._OUTCOMES_SQL, ids))

    _OUTCOMES_SQL = f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfers WHERE id IN {{ids}}"
    _NEWEST_SQL = "SELECT id FROM ledger_transfers ORDER BY id DESC LIMIT 1"
    _PENDING_SQL = f"SELECT {PENDING_COLUMNS} FROM ledger_pending_transfers WHERE id IN {{ids}}"

    def newest_id(self) -> int:
        """The highest transfer id stored, applied or failed (0 when none): one
        primary-key lookup. Clients that choose time-ordered ids (UUIDv7, or TigerBeetle's
        recommended ids) send ids above it, so the batch needs no per-id existence check."""
        self.cursor.execute(self._NEWEST_SQL)
        row = self.cursor.fetchone()
        return 0 if row is None else id_int(bytes(row[0]))

    def pending_states(self, ids: Collection[TransferId]) -> dict[TransferId, PendingState]:
        rows = self._select_in(self._PENDING_SQL, ids)
        return {id_int(row[0]): pending_from_row(row) for row in rows}

    def accounts(self, ids: Collection[AccountId]) -> dict[AccountId, Account]:
        rows = self._select_in(f"SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id IN {{ids}}", ids)
        loaded = (account_from_row(row)[0] for row in rows)
        return {account.id: account for account in loaded}

    _LOCK_SQL = (
        "SELECT id, asset, flags, debits_posted, credits_posted, debits_pending, credits_pending, "
        "last_timestamp FROM ledger_accounts WHERE id IN {ids}"
    )

    def lock_accounts(self, ids: Collection[AccountId]) -> dict[AccountId, tuple[AccountRow, int]]:
        """Lock the accounts for this transaction; {id: (row for the batch, last timestamp)}."""
        rows = self._select_in(self._LOCK_SQL, ids)
        return {id_int(row[0]): (tuple(row[1:7]), row[7]) for row in rows}

    def load_locked(
        self,
        account_ids: Collection[AccountId],
        ids: Collection[TransferId],
        watched: Collection[TransferId],
        *,
        look_up_directly: bool,
    ) -> Loaded:
        """What a batch reads once its accounts are locked: the locked accounts, what
        became of `ids` already seen, and the state of the `watched` pending transfers.

        With `look_up_directly` false, one look at the newest stored id first spares
        the look-up when every id in `ids` is above it (as when clients send rising ids).
        One method, so that a backend can send the statements together."""
        locked = self.lock_accounts(account_ids) if account_ids else {}
        states = self.pending_states(watched) if watched else {}
        if ids and (look_up_directly or min(ids) <= self.newest_id()):
            existing, failed = self.outcomes(ids)
        else:
            existing, failed = {}, {}
        return locked, existing, failed, states

    _FEW_DUE = 500

    def due_pendings(self, account_ids: Collection[AccountId], now: int) -> list[PendingState]:
        """Pending transfers on these accounts whose timeout has passed by `now`."""
        # Usually the sweeper keeps this set tiny: fetch it whole and filter here rather
        # than bind thousands of account ids twice.
        self.cursor.execute(
            f"SELECT {PENDING_COLUMNS} FROM ledger_pending_transfers WHERE status = 1 "
            f"AND expires_at > 0 AND expires_at <= {int(now)} LIMIT {self._FEW_DUE + 1}"
        )
        few = self.cursor.fetchall()
        if len(few) <= self._FEW_DUE:
            wanted = set(account_ids)
            due = (pending_from_row(row) for row in few)
            return [p for p in due if p.debit_account_id in wanted or p.credit_account_id in wanted]
        rows = self._select_in(
            f"SELECT {PENDING_COLUMNS} FROM ledger_pending_transfers WHERE status = 1 "
            f"AND expires_at > 0 AND expires_at <= {int(now)} "
            "AND (debit_account_id IN {ids} OR credit_account_id IN {ids})",
            account_ids,
        )
        return [pending_from_row(row) for row in rows]

    def any_due_pendings(self, now: int, limit: int) -> list[PendingState]:
        self.cursor.execute(
            f"SELECT {PENDING_COLUMNS} FROM ledger_pending_transfers WHERE status = 1 "
            f"AND expires_at > 0 AND expires_at <= {int(now)} ORDER BY expires_at LIMIT {int(limit)}"
        )
        return [pending_from_row(row) for row in self.cursor.fetchall()]

    # -- writes ---------------------------------------------------------------------
    @contextmanager
    def writing_transfers(self, count: int, now: int) -> Iterator[Decided | None]:
        """For a batch of `count` transfers: what to hand the transfers and failures to
        as the rules decide them (see `apply_batch`), or None when `write` is to write
        them with the rest. Either way they are written when the block ends."""
        yield None

    def write(self, outcome: BatchOutcome, now: int, *, transfers_written: bool = False) -> None:
        if not transfers_written:
            rows = [_transfer_row(t) for t in outcome.transfers]
            rows += [_failure_row(tid, result, now) for tid, result in outcome.failures]
            if rows:
                self.insert_transfers(rows)
        if outcome.new_pendings:
            self.executemany(
                f"INSERT INTO ledger_pending_transfers ({PENDING_COLUMNS}) VALUES ({self.marks(7)})",
                [pending_row(p) for p in outcome.new_pendings],
            )
        if outcome.resolved_pendings:
            self.executemany(
                f"UPDATE ledger_pending_transfers SET status = {self.mark}, resolved_at = {self.mark} "
                f"WHERE id = {self.mark} AND status = 1",
                [(int(status), when, id_bytes(pid)) for pid, status, when in outcome.resolved_pendings],
            )
        if outcome.account_changes:
            self.update_accounts(outcome.account_changes)

    mark = "?"

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def executemany(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        self.cursor.executemany(sql, rows)

    def insert_transfers(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def update_accounts(self, changes: dict[AccountId, AccountChange]) -> None:
        raise NotImplementedError


class SqliteStore(SqlStore):
    def _select_in(self, sql: str, ids: Collection[int]) -> list[Any]:
        if not ids:
            return []
        rows: list[Any] = []
        keys = [i.to_bytes(16, "big") for i in ids]
        uses = sql.count("{ids}")
        chunk = _SQLITE_CHUNK // uses
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            placeholders = "(" + ",".join("?" * len(part)) + ")"
            self.cursor.execute(sql.replace("{ids}", placeholders), part * uses)
            rows.extend(self.cursor.fetchall())
        return rows

    def insert_transfers(self, rows: list[tuple[Any, ...]]) -> None:
        self.cursor.executemany(
            f"INSERT INTO ledger_transfers ({TRANSFER_COLUMNS}) VALUES ({self.marks(13)})", rows
        )

    def update_accounts(self, changes: dict[AccountId, AccountChange]) -> None:
        self.cursor.executemany(
            "UPDATE ledger_accounts SET debits_posted = debits_posted + ?, "
            "credits_posted = credits_posted + ?, debits_pending = debits_pending + ?, "
            "credits_pending = credits_pending + ?, last_timestamp = ? WHERE id = ?",
            [
                (
                    c.debits_posted,
                    c.credits_posted,
                    c.debits_pending,
                    c.credits_pending,
                    c.last_timestamp,
                    id_bytes(a),
                )
                for a, c in changes.items()
            ],
        )


# Column types for binary COPY, in TRANSFER_COLUMNS order.
_TRANSFER_COPY_TYPES = ["bytea"] * 3 + ["int8", "int8", "bytea", "text"]
_TRANSFER_COPY_TYPES += ["int4"] * 3 + ["text", "int8", "text"]


#: Up to this many rows, single-row statements sent together in one pipeline beat a COPY.
_FEW_ROWS = 64

# psycopg's compiled dumper for bytes. Asked for by type oid (as `COPY ... set_types`
# and binary arrays do), psycopg hands out the pure-Python one it registers for its
# `Binary` wrapper, which the ledger never uses: 8,000 transfer rows then cost 8 ms of
# CPU to encode against 3 ms, and the COPY waits on the encoding.
_BYTEA_DUMPER = psycopg.adapters.get_dumper(bytes, PyFormat.BINARY)


def fast_bytea(cursor: Any) -> Any:
    """`cursor`, with bytes encoded by psycopg's compiled dumper (on this cursor only)."""
    cursor.adapters.register_dumper(bytes, _BYTEA_DUMPER)
    return cursor


class PostgresStore(SqlStore):
    """Statements that do not depend on each other's answers go out together in one
    pipeline (one round trip, and the transaction's BEGIN rides along): the reads a batch
    makes under lock, and the writes of a small batch."""

    mark = "%s"

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.driver: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
        fast_bytea(self.cursor)

    def _send_in(self, sql: str, ids: Collection[int]) -> Any:
        """Execute `sql` over `ids` on a cursor of its own; its rows are read later."""
        cursor = counted_cursor(fast_bytea(self.driver.cursor(binary=True)))
        keys = [i.to_bytes(16, "big") for i in ids]
        # %b: send the array in binary; psycopg's text escaping of bytea costs more
        # than the query. Results in binary too: decoding hex bytea text costs as much
        # as the query.
        cursor.execute(sql.replace("IN {ids}", "= ANY(%(ids)b)"), {"ids": keys})
        return cursor

    def _select_in(self, sql: str, ids: Collection[int]) -> list[Any]:
        if not ids:
            return []
        rows: list[Any] = self._send_in(sql, ids).fetchall()
        return rows

    # Rows are locked in the order the sort hands them up: every batch takes its locks in
    # ascending id order, so two batches can never wait on each other.
    _LOCK_SQL = SqlStore._LOCK_SQL + " ORDER BY id FOR UPDATE"

    def load_locked(
        self,
        account_ids: Collection[AccountId],
        ids: Collection[TransferId],
        watched: Collection[TransferId],
        *,
        look_up_directly: bool,
    ) -> Loaded:
        lock = looked = newest = states = None
        with self.driver.pipeline():
            if account_ids:
                lock = self._send_in(self._LOCK_SQL, account_ids)
            if watched:
                states = self._send_in(self._PENDING_SQL, watched)
            if ids and look_up_directly:
                looked = self._send_in(self._OUTCOMES_SQL, ids)
            elif ids:
                newest = counted_cursor(self.driver.cursor(binary=True))
                newest.execute(self._NEWEST_SQL)
        locked = {} if lock is None else {id_int(r[0]): (tuple(r[1:7]), r[7]) for r in lock.fetchall()}
        pending = {} if states is None else {id_int(r[0]): pending_from_row(r) for r in states.fetchall()}
        if newest is not None:
            row = newest.fetchone()
            if row is not None and min(ids) <= id_int(bytes(row[0])):
                looked = self._send_in(self._OUTCOMES_SQL, ids)
        existing, failed = _split_outcomes(looked.fetchall()) if looked is not None else ({}, {})
        return locked, existing, failed, pending

    @contextmanager
    def writing_transfers(self, count: int, now: int) -> Iterator[Decided | None]:
        # A batch yields at most one row per transfer. Beyond a few, they go into a COPY
        # as they are decided: the server inserts the first while the rules work on the
        # next, where it would otherwise sit idle until the whole batch is decided.
        if count <= _FEW_ROWS:
            yield None
            return
        with self.cursor.copy(
            f"COPY ledger_transfers ({TRANSFER_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_TRANSFER_COPY_TYPES)
            write_row = copy.write_row

            def decided(
                transfers: list[StoredTransfer], failures: list[tuple[TransferId, TransferResult]]
            ) -> None:
                for t in transfers:
                    write_row(_transfer_row(t))
                for tid, result in failures:
                    write_row(_failure_row(tid, result, now))

            yield decided

    def write(self, outcome: BatchOutcome, now: int, *, transfers_written: bool = False) -> None:
        if (
            len(outcome.transfers) + len(outcome.failures) <= _FEW_ROWS
            and len(outcome.account_changes) <= _FEW_ROWS
        ):
            with self.driver.pipeline():
                super().write(outcome, now, transfers_written=transfers_written)
        else:
            super().write(outcome, now, transfers_written=transfers_written)

    def insert_transfers(self, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) <= _FEW_ROWS:
            self.cursor.executemany(
                f"INSERT INTO ledger_transfers ({TRANSFER_COLUMNS}) VALUES ({self.marks(13)})", rows
            )
            return
        with self.cursor.copy(
            f"COPY ledger_transfers ({TRANSFER_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_TRANSFER_COPY_TYPES)
            for row in rows:
                copy.write_row(row)

    def update_accounts(self, changes: dict[AccountId, AccountChange]) -> None:
        if len(changes) <= _FEW_ROWS:
            # A few accounts: pipelined single-row updates beat setting up a COPY.
            self.cursor.executemany(
                "UPDATE ledger_accounts SET debits_posted = debits_posted + %s, "
                "credits_posted = credits_posted + %s, debits_pending = debits_pending + %s, "
                "credits_pending = credits_pending + %s, last_timestamp = %s WHERE id = %s",
                [
                    (c.debits_posted, c.credits_posted, c.debits_pending, c.credits_pending, c.last_timestamp,
                     a.to_bytes(16, "big"))
                    for a, c in changes.items()
                ],
            )  # fmt: skip
            return
        # The deltas go in by binary COPY to a temporary table (emptied at commit), then
        # one UPDATE joins it: far cheaper than binding thousands of array elements. No
        # primary key on it: the ids come from a dict, so they are unique already, and
        # building the index cost 3-4 ms of the server's time for 8,000 accounts.
        self.cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ledger_account_moves (id bytea, dp int8, cp int8, "
            "dq int8, cq int8, ts int8) ON COMMIT DELETE ROWS"
        )
        with self.cursor.copy("COPY ledger_account_moves FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bytea", "int8", "int8", "int8", "int8", "int8"])
            for account_id, c in changes.items():
                copy.write_row(
                    (
                        account_id.to_bytes(16, "big"),
                        c.debits_posted,
                        c.credits_posted,
                        c.debits_pending,
                        c.credits_pending,
                        c.last_timestamp,
                    )
                )
        self.cursor.execute(
            "UPDATE ledger_accounts AS a SET debits_posted = a.debits_posted + v.dp, "
            "credits_posted = a.credits_posted + v.cp, debits_pending = a.debits_pending + v.dq, "
            "credits_pending = a.credits_pending + v.cq, last_timestamp = v.ts "
            "FROM ledger_account_moves AS v WHERE a.id = v.id"
        )


def _transfer_row(t: StoredTransfer) -> tuple[Any, ...]:
    # transfer_row, inlined for the hot path: a batch writes 8,000 of these.
    pending_id = t.pending_id
    return (
        t.id.to_bytes(16, "big"),
        t.debit_account_id.to_bytes(16, "big"),
        t.credit_account_id.to_bytes(16, "big"),
        t.amount,
        t.requested_amount,
        None if pending_id is None else pending_id.to_bytes(16, "big"),
        t.asset,
        t.code,
        t.flags,
        t.timeout,
        metadata_text(t.metadata) if t.metadata else None,
        t.timestamp,
        None,
    )


def _failure_row(transfer_id: TransferId, result: TransferResult, now: int) -> tuple[Any, ...]:
    # A failed id is kept as a row of its own, so the primary key decides between two
    # concurrent batches carrying the same id, whatever became of each.
    return (id_bytes(transfer_id), NO_ACCOUNT, NO_ACCOUNT, 0, None, None, "", 0, 0, 0, None, now, str(result))


def _split_outcomes(
    rows: Iterable[Any],
) -> tuple[dict[TransferId, StoredTransfer], dict[TransferId, TransferResult]]:
    applied: dict[TransferId, StoredTransfer] = {}
    failed: dict[TransferId, TransferResult] = {}
    for row in rows:
        if row[12] is None:
            applied[id_int(row[0])] = transfer_from_row(row)
        else:
            failed[id_int(row[0])] = TransferResult(row[12])
    return applied, failed


def store_for(connection: Connection) -> SqlStore:
    if connection.dialect.name == "postgresql":
        return PostgresStore(connection)
    return SqliteStore(connection)


def account_ids_of(pairs: Iterable[tuple[int | None, int | None]]) -> set[AccountId]:
    found: set[AccountId] = set()
    for debit, credit in pairs:
        if debit is not None:
            found.add(debit)
        if credit is not None:
            found.add(credit)
    return found


__all__ = ["PendingStatus", "SqlStore", "account_ids_of", "store_for"]
