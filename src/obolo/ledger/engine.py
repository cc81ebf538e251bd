"""The ledger: batches of accounts and transfers, each batch one database transaction.

Every call loads what the batch touches (locking the accounts), lets the pure rules in
`obolo.ledger.batch` decide, and writes the outcome back before committing. A batch
that loses a race (a deadlock, a busy SQLite, the same id inserted concurrently) is
rolled back and run again from the start, so it never applies twice.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.adapters.db.transactions import (
    TransactionBusy,
    run_in_transaction,
    submit_in_transaction,
    transaction,
)
from obolo.ledger.batch import apply_batch
from obolo.ledger.errors import BatchTooLarge, InvalidInput, LedgerBusy
from obolo.ledger.history import balance_history
from obolo.ledger.model import (
    ID_MAX,
    MAX_BATCH,
    Account,
    AccountBalance,
    AccountFlags,
    AccountId,
    AccountResult,
    CloseResult,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferId,
    TransferResult,
    as_id,
)
from obolo.ledger.observe import batch_applied
from obolo.ledger.rows import ACCOUNT_COLUMNS, TRANSFER_COLUMNS, id_bytes, transfer_from_row
from obolo.ledger.store import SqlStore, account_ids_of, store_for
from obolo.money import DEFAULT_ASSETS, Asset

Clock = Callable[[], int]
# Up to this many transfer ids, a batch looks them up by id; beyond, it looks at the
# newest stored id first, sparing the look-up when (as recommended) the ids rise.
_LOOK_UP_DIRECTLY = 16


# From this many transfers, a batch runs with the cyclic garbage collector paused.
_PAUSE_COLLECTOR_FROM = 256
_collector_lock = threading.Lock()
_collector_holds = 0
_collector_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block (across threads: it resumes when
    the last paused block ends, and only if it was running before the first).

    A large batch allocates tens of thousands of objects, none in a reference cycle (they
    are freed by reference counting all the same); to the collector they look like a
    growing heap, so it runs generation after generation over them and, worse, full
    collections over the whole process: measured, that doubled the time spent applying
    a batch of 8,000 transfers."""
    global _collector_holds, _collector_was_enabled
    with _collector_lock:
        if _collector_holds == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_holds += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_holds -= 1
            if _collector_holds == 0 and _collector_was_enabled:
                gc.enable()


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value < ID_MAX


def _normal_id(value: Any, what: str) -> int | None:
    if value is None or type(value) is int:
        return value
    if isinstance(value, uuid.UUID):
        return value.int
    raise InvalidInput(f"{what} must be an int or a UUID, not {type(value).__name__}")


def _normalize(t: Transfer) -> Transfer:
    """Refuse wrong types outright (a float amount is a bug, not a result) and turn UUID
    ids into integers."""
    if not isinstance(t, Transfer):
        raise InvalidInput(f"expected a Transfer, not {type(t).__name__}")
    if (
        (t.amount is not None and type(t.amount) is not int)
        or type(t.code) is not int
        or type(t.timeout) is not int
    ):
        raise InvalidInput(f"transfer {t.id!r}: amount, code and timeout are integers")
    if (
        type(t.id) is int
        and type(t.debit_account_id) in (int, type(None))
        and type(t.credit_account_id) in (int, type(None))
        and type(t.pending_id) in (int, type(None))
    ):
        flags = t.flags if type(t.flags) is TransferFlags else TransferFlags(t.flags)
        return t if flags is t.flags else replace(t, flags=flags)
    transfer_id = _normal_id(t.id, "id")
    if transfer_id is None:
        raise InvalidInput("a transfer needs an id")
    return replace(
        t,
        id=transfer_id,
        debit_account_id=_normal_id(t.debit_account_id, "debit_account_id"),
        credit_account_id=_normal_id(t.credit_account_id, "credit_account_id"),
        pending_id=_normal_id(t.pending_id, "pending_id"),
        flags=TransferFlags(t.flags),
    )


class LedgerSession:
    """The ledger inside one open transaction: what a use case calls so that its own rows
    (a payment record, an outbox event) commit or roll back with the transfers.

    Obtain one from `Ledger.transaction()` or `Ledger.run(work)`; do not keep it after.
    """

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self.connection = connection
        self.store: SqlStore = store_for(connection)
        self.clock = clock

    # -- assets -----------------------------------------------------------------------
    def register_assets(self, assets: Iterable[Asset]) -> None:
        """Make assets known to the ledger. An asset's scale never changes once set."""
        store = self.store
        known = self._assets_in()
        for asset in assets:
            if asset.code in known:
                if known[asset.code] != asset.scale:
                    raise InvalidInput(f"{asset.code} already has scale {known[asset.code]}")
                continue
            store.cursor.execute(
                f"INSERT INTO ledger_assets (code, scale) VALUES ({store.marks(2)})",
                (asset.code, asset.scale),
            )
            known[asset.code] = asset.scale

    def _assets_in(self) -> dict[str, int]:
        self.store.cursor.execute("SELECT code, scale FROM ledger_assets")
        return {code: scale for code, scale in self.store.cursor.fetchall()}

    def assets(self) -> dict[str, Asset]:
        return {code: Asset(code, scale) for code, scale in self._assets_in().items()}

    # -- accounts ---------------------------------------------------------------------
    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        """Create accounts; one result per item, in order. Existing ids answer `exists`
        (same fields) or `exists_with_different_fields`."""
        if len(accounts) > MAX_BATCH:
            raise BatchTooLarge(len(accounts), MAX_BATCH)
        items = [replace(a, id=as_id(a.id), flags=AccountFlags(a.flags)) for a in accounts]
        store = self.store
        assets = self._assets_in()
        existing = {a.id: a for a in store.accounts([a.id for a in items if _valid_id(a.id)]).values()}
        now = self.clock()
        results: list[AccountResult] = []
        rows: list[tuple[Any, ...]] = []
        for account in items:
            result = _account_result(account, existing, assets)
            results.append(result)
            if result is AccountResult.OK:
                existing[account.id] = account
                rows.append(
                    (id_bytes(account.id), account.asset, account.code, int(account.flags), account.owner,
                     0, 0, 0, 0, now, 0)
                )  # fmt: skip
        if rows:
            store.executemany(
                f"INSERT INTO ledger_accounts ({ACCOUNT_COLUMNS}) VALUES ({store.marks(11)})", rows
            )
        return results

    def close_accounts(self, ids: Sequence[AccountId | uuid.UUID]) -> list[CloseResult]:
        """Close accounts: no new transfers may touch them. Pending transfers on a closed
        account can still be voided or expire, releasing what they held."""
        wanted = [as_id(i) for i in ids]
        store = self.store
        store.lock_accounts([i for i in wanted if _valid_id(i)])
        found = store.accounts([i for i in wanted if _valid_id(i)])
        results = []
        for account_id in wanted:
            if account_id not in found:
                results.append(CloseResult.ACCOUNT_NOT_FOUND)
                continue
            account = found[account_id]
            if account.flags & AccountFlags.CLOSED:
                results.append(CloseResult.ALREADY_CLOSED)
                continue
            store.cursor.execute(
                f"UPDATE ledger_accounts SET flags = {store.mark} WHERE id = {store.mark}",
                (int(account.flags | AccountFlags.CLOSED), id_bytes(account_id)),
            )
            found[account_id] = replace(account, flags=account.flags | AccountFlags.CLOSED)
            results.append(CloseResult.OK)
        return results

    def lookup_accounts(self, ids: Sequence[AccountId | uuid.UUID]) -> list[Account]:
        """The accounts that exist, in the order asked; unknown ids are left out."""
        wanted = [as_id(i) for i in ids]
        found = self.store.accounts([i for i in wanted if _valid_id(i)])
        return [found[i] for i in wanted if i in found]

    # -- transfers --------------------------------------------------------------------
    def create_transfers(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        """Apply transfers in order, all in this transaction; one result per item.

        Raises BatchTooLarge and InvalidInput (wrong types); every business failure is
        a result code instead.
        """
        if len(transfers) > MAX_BATCH:
            raise BatchTooLarge(len(transfers), MAX_BATCH)
        if not transfers:
            return []
        if len(transfers) >= _PAUSE_COLLECTOR_FROM:
            with _collector_paused():
                return self._create_transfers(transfers)
        return self._create_transfers(transfers)

    def _create_transfers(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        started = time.perf_counter()
        items = [_normalize(t) for t in transfers]
        ids = {t.id for t in items if _valid_id(t.id)}
        pending_ids = {t.pending_id for t in items if t.pending_id is not None and _valid_id(t.pending_id)}
        account_ids = {
            i
            for i in account_ids_of((t.debit_account_id, t.credit_account_id) for t in items)
            if _valid_id(i)
        }
        store = self.store
        # Pending transfers never change once written, so which accounts they name
        # can be read before locking; everything that can change is read after.
        referenced = store.transfers(pending_ids) if pending_ids else {}
        account_ids |= account_ids_of((p.debit_account_id, p.credit_account_id) for p in referenced.values())
        clock_now = self.clock()
        # Pending transfers past their timeout on these accounts expire first, so the
        # funds they held are free for this batch. Their other accounts join the lock.
        candidates = store.due_pendings(account_ids, clock_now) if account_ids else []
        account_ids |= account_ids_of((p.debit_account_id, p.credit_account_id) for p in candidates)
        watched = set(referenced) | {p.id for p in candidates}
        locked, existing, failed, pending_states = store.load_locked(
            account_ids, ids, watched, look_up_directly=len(ids) <= _LOOK_UP_DIRECTLY
        )
        now = max([clock_now] + [last + 1 for _, last in locked.values()])
        due = [
            pending_states[p.id] for p in candidates if pending_states[p.id].status is PendingStatus.PENDING
        ]
        with store.writing_transfers(len(items), now) as decided:
            outcome = apply_batch(
                items,
                accounts={account_id: account for account_id, (account, _) in locked.items()},
                existing=existing,
                failed=failed,
                referenced=referenced,
                pending_states=pending_states,
                due=due,
                now=now,
                decided=decided,
            )
        store.write(outcome, now, transfers_written=decided is not None)
        batch_applied(len(items), time.perf_counter() - started)
        return outcome.results

    def expire_pending(self, limit: int = MAX_BATCH) -> int:
        """Expire up to `limit` pending transfers whose timeout has passed, releasing
        what they reserved. Returns how many expired."""
        store = self.store
        clock_now = self.clock()
        candidates = store.any_due_pendings(clock_now, limit)
        if not candidates:
            return 0
        account_ids = account_ids_of((p.debit_account_id, p.credit_account_id) for p in candidates)
        locked = store.lock_accounts(account_ids)
        # Re-read under the locks: another worker may have got there first.
        states = store.pending_states([p.id for p in candidates])
        due = [
            s for s in states.values() if s.status is PendingStatus.PENDING and 0 < s.expires_at <= clock_now
        ]
        now = max([clock_now] + [last + 1 for _, last in locked.values()])
        outcome = apply_batch(
            [],
            accounts={account_id: account for account_id, (account, _) in locked.items()},
            existing={},
            failed={},
            referenced={},
            pending_states=states,
            due=due,
            now=now,
        )
        store.write(outcome, now)
        return len(due)

    def lookup_transfers(self, ids: Sequence[TransferId | uuid.UUID]) -> list[Transfer]:
        """The transfers that exist, in the order asked; unknown ids are left out."""
        wanted = [as_id(i) for i in ids]
        found = self.store.transfers([i for i in wanted if _valid_id(i)])
        return [found[i].as_transfer() for i in wanted if i in found]

    def pending_status(self, pending_id: TransferId | uuid.UUID) -> PendingStatus | None:
        """Where a pending transfer stands (None if there is no such pending transfer)."""
        wanted = as_id(pending_id)
        state = self.store.pending_states([wanted]).get(wanted) if _valid_id(wanted) else None
        return None if state is None else state.status

    def account_transfers(
        self,
        account_id: AccountId | uuid.UUID,
        *,
        after: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[Transfer]:
        """Transfers debiting or crediting the account, oldest first (or newest first),
        starting after the `after` timestamp cursor (before it, newest first)."""
        key = id_bytes(as_id(account_id))
        limit = max(1, min(limit, MAX_BATCH))
        store = self.store
        m = store.mark
        if newest_first:
            bound, order = ("timestamp < " + m, "DESC") if after else ("1 = 1", "DESC")
        else:
            bound, order = "timestamp > " + m, "ASC"
        params: list[Any] = [key, key]
        if after or not newest_first:
            params.append(after)
        store.cursor.execute(
            f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfers "
            f"WHERE (debit_account_id = {m} OR credit_account_id = {m}) AND {bound} AND failure IS NULL "
            f"ORDER BY timestamp {order} LIMIT {limit}",
            params,
        )
        return [transfer_from_row(row).as_transfer() for row in store.cursor.fetchall()]

    def account_expiries(
        self, account_id: AccountId | uuid.UUID, *, before: int = 0, limit: int = 100
    ) -> list[tuple[int, Transfer]]:
        """Pending transfers on the account that expired, newest first, each with the time
        it expired: an expiry writes no transfer, so a history of transfers alone would
        show such a hold as reserved forever. Only those that expired before `before`
        (a timestamp cursor) when it is given."""
        key = id_bytes(as_id(account_id))
        limit = max(1, min(limit, MAX_BATCH))
        m = self.store.mark
        bound = f"AND p.resolved_at < {m} " if before else ""
        self.store.cursor.execute(
            f"SELECT p.resolved_at, {_T_COLUMNS} "
            "FROM ledger_pending_transfers p JOIN ledger_transfers t ON t.id = p.id "
            f"WHERE p.status = {int(PendingStatus.EXPIRED)} AND p.debit_account_id = {m} {bound}"
            f"UNION ALL SELECT p.resolved_at, {_T_COLUMNS} "
            "FROM ledger_pending_transfers p JOIN ledger_transfers t ON t.id = p.id "
            f"WHERE p.status = {int(PendingStatus.EXPIRED)} AND p.credit_account_id = {m} {bound}"
            f"ORDER BY 1 DESC LIMIT {limit}",
            [key, *([before] if before else []), key, *([before] if before else [])],
        )
        return [(row[0], transfer_from_row(row[1:]).as_transfer()) for row in self.store.cursor.fetchall()]

    def account_balances(self, account_id: AccountId | uuid.UUID) -> list[AccountBalance]:
        """The account's four totals after each event that changed them, oldest first:
        every transfer, and every expiry of a pending transfer (whose `transfer_id` is the
        pending transfer's). The last entry equals the account's current totals."""
        return balance_history(self.store, as_id(account_id))


T = TypeVar("T")
_T_COLUMNS = ", ".join("t." + column.strip() for column in TRANSFER_COLUMNS.split(","))


class Ledger:
    """Accounts and transfers over one database. Thread-safe: each call runs in its own
    connection and transaction, retried from the start if it loses a race.

    The methods of `LedgerSession` are all available here, each as one transaction.
    """

    def __init__(self, engine: Engine, *, clock: Clock = time.time_ns) -> None:
        self.engine = engine
        self.clock = clock

    @classmethod
    def connect(cls, url: str | None = None, *, clock: Clock = time.time_ns, migrate: bool = True) -> Ledger:
        """A ledger on `url` (SQLite or PostgreSQL); by default applies migrations and
        registers the default assets (EUR and USD at scale 6)."""
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        ledger = cls(engine, clock=clock)
        ledger.register_assets_defaults()
        return ledger

    def register_assets_defaults(self) -> None:
        """Make sure EUR and USD (scale 6) are known."""
        self.register_assets(DEFAULT_ASSETS.values())

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -----------------------------------------------------------------
    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[LedgerSession]:
        """One transaction, committed when the block ends without an exception. No
        retries: use `run` for work that should be retried when it loses a race."""
        with transaction(self.engine, read_only=read_only) as connection:
            yield LedgerSession(connection, self.clock)

    def run(
        self,
        work: Callable[[LedgerSession], T],
        *,
        read_only: bool = False,
        connection: Connection | None = None,
    ) -> T:
        """Run `work` in one transaction; if the database says it lost a race (deadlock,
        busy, a concurrent insert of the same id), roll back and run it again from the
        start. `work` must therefore do nothing outside the transaction. On `connection`
        (one the caller keeps open for a hot loop) if given, else one from the pool.

        Raises LedgerBusy when the retries run out."""
        try:
            return run_in_transaction(
                self.engine,
                lambda used: work(LedgerSession(used, self.clock)),
                read_only=read_only,
                connection=connection,
            )
        except TransactionBusy as error:
            raise LedgerBusy(str(error)) from error

    def submit(self, work: Callable[[LedgerSession], T]) -> Future[T]:
        """`run` for an event loop: a future of the result, completed after the commit (the
        process's writer commits it with others; without one it runs now)."""
        return submit_in_transaction(self.engine, lambda used: work(LedgerSession(used, self.clock)))

    # -- one transaction each -----------------------------------------------------------
    def register_assets(self, assets: Iterable[Asset]) -> None:
        wanted = list(assets)
        known = self.assets()
        if all(known.get(asset.code) == asset for asset in wanted):
            return  # nothing to write: a read-only database is fine
        self.run(lambda s: s.register_assets(wanted))

    def assets(self) -> dict[str, Asset]:
        return self.run(lambda s: s.assets(), read_only=True)

    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        return self.run(lambda s: s.create_accounts(accounts))

    def close_accounts(self, ids: Sequence[AccountId | uuid.UUID]) -> list[CloseResult]:
        return self.run(lambda s: s.close_accounts(ids))

    def lookup_accounts(self, ids: Sequence[AccountId | uuid.UUID]) -> list[Account]:
        return self.run(lambda s: s.lookup_accounts(ids), read_only=True)

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[TransferResult]:
        """Apply transfers in order, all in one transaction; one result per item.

        Raises BatchTooLarge, InvalidInput (wrong types) and LedgerBusy (contention that
        outlasted the retries); every business failure is a result code instead.
        """
        return self.run(lambda s: s.create_transfers(transfers))

    def expire_pending(self, limit: int = MAX_BATCH) -> int:
        """Expire up to `limit` due pending transfers. Safe to run from many workers."""
        return self.run(lambda s: s.expire_pending(limit))

    def lookup_transfers(self, ids: Sequence[TransferId | uuid.UUID]) -> list[Transfer]:
        return self.run(lambda s: s.lookup_transfers(ids), read_only=True)

    def pending_status(self, pending_id: TransferId | uuid.UUID) -> PendingStatus | None:
        return self.run(lambda s: s.pending_status(pending_id), read_only=True)

    def account_transfers(
        self,
        account_id: AccountId | uuid.UUID,
        *,
        after: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[Transfer]:
        return self.run(
            lambda s: s.account_transfers(account_id, after=after, limit=limit, newest_first=newest_first),
            read_only=True,
        )

    def account_balances(self, account_id: AccountId | uuid.UUID) -> list[AccountBalance]:
        return self.run(lambda s: s.account_balances(account_id), read_only=True)


def _account_result(account: Account, existing: dict[int, Account], assets: dict[str, int]) -> AccountResult:
    if not account.id:
        return AccountResult.ID_MUST_NOT_BE_ZERO
    if not 0 < account.id < ID_MAX:
        return AccountResult.ID_OUT_OF_RANGE
    found = existing.get(account.id)
    if found is not None:
        same = (found.asset, found.code, found.flags & ~AccountFlags.CLOSED, found.owner) == (
            account.asset,
            account.code,
            account.flags & ~AccountFlags.CLOSED,
            account.owner,
        )
        return AccountResult.EXISTS if same else AccountResult.EXISTS_WITH_DIFFERENT_FIELDS
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    if account.flags & both == both:
        return AccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if account.asset not in assets:
        return AccountResult.UNKNOWN_ASSET
    if type(account.code) is not int or not 0 <= account.code <= 2**31 - 1:
        return AccountResult.CODE_OUT_OF_RANGE
    return AccountResult.OK
