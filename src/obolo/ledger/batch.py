"""Apply a batch of transfers to the accounts it touches. Pure: values in, values out.

The engine loads (under lock) every account, pending transfer and existing id the batch
names, calls `apply_batch`, and writes back what it returns, all in one database
transaction. Keeping the rules here, free of I/O, lets the same code run against any
store and be tested exhaustively.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from obolo.ledger.model import (
    ID_MAX,
    NS_PER_SECOND,
    STATE_DEPENDENT_FAILURES,
    Account,
    AccountFlags,
    AccountId,
    PendingState,
    PendingStatus,
    StoredTransfer,
    Transfer,
    TransferFlags,
    TransferId,
    TransferResult,
)
from obolo.money import INT64_MAX

R = TransferResult

# Flags as plain ints: enum arithmetic costs microseconds, and a batch does it 100,000 times.
_DMNEC = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CMNED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_CLOSED = int(AccountFlags.CLOSED)
_LINKED = int(TransferFlags.LINKED)
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(TransferFlags.VOID_PENDING_TRANSFER)
_BALANCING_DEBIT = int(TransferFlags.BALANCING_DEBIT)
_BALANCING_CREDIT = int(TransferFlags.BALANCING_CREDIT)
_KIND_FLAGS = _PENDING | _POST | _VOID
_RESOLVING = _POST | _VOID
_BALANCING = _BALANCING_DEBIT | _BALANCING_CREDIT
_CODE_MAX = 2**31 - 1
_TIMEOUT_MAX = 2**31 - 1
_METADATA_MAX_KEYS = 32
_METADATA_MAX_CHARS = 512
_ALREADY_RESOLVED = {
    PendingStatus.POSTED: R.PENDING_ALREADY_POSTED,
    PendingStatus.VOIDED: R.PENDING_ALREADY_VOIDED,
    PendingStatus.EXPIRED: R.PENDING_EXPIRED,
}


#: An account as a batch needs it, straight from a row: (asset, flags, debits_posted,
#: credits_posted, debits_pending, credits_pending). Cheaper than building an Account.
AccountRow = tuple[str, int, int, int, int, int]


class _Totals:
    """Mutable running totals of one account while the batch is applied."""

    __slots__ = (
        "asset",
        "credits_pending",
        "credits_posted",
        "debits_pending",
        "debits_posted",
        "flags",
        "last",
        "original",
    )

    def __init__(self, account: Account | AccountRow) -> None:
        if isinstance(account, Account):
            row: AccountRow = (
                account.asset,
                int(account.flags),
                account.debits_posted,
                account.credits_posted,
                account.debits_pending,
                account.credits_pending,
            )
        else:
            row = account
        (
            self.asset,
            self.flags,
            self.debits_posted,
            self.credits_posted,
            self.debits_pending,
            self.credits_pending,
        ) = row
        self.original = row
        self.last = 0

    def snapshot(self) -> tuple[int, int, int, int, int]:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending, self.last)

    def restore(self, saved: tuple[int, int, int, int, int]) -> None:
        (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending, self.last) = (
            saved
        )


@dataclass(slots=True)
class AccountChange:
    """What one account gained in the batch, as deltas, and its newest event time."""

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    last_timestamp: int


@dataclass(slots=True)
class BatchOutcome:
    results: list[TransferResult]
    transfers: list[StoredTransfer] = field(default_factory=list)
    account_changes: dict[AccountId, AccountChange] = field(default_factory=dict)
    new_pendings: list[PendingState] = field(default_factory=list)
    #: (pending id, new status, when) for pending transfers posted, voided or expired.
    resolved_pendings: list[tuple[TransferId, PendingStatus, int]] = field(default_factory=list)
    failures: list[tuple[TransferId, TransferResult]] = field(default_factory=list)


#: Called as a batch goes, with the transfers it has just created and the ids that have
#: just failed for good, so that they can be written while the rest is decided.
Decided = Callable[[list[StoredTransfer], list[tuple[TransferId, TransferResult]]], None]

#: Transfers decided between two calls of a `Decided` (whole linked chains: a chain is
#: only final once it closes).
DECIDED_EVERY = 512


def _valid_metadata(metadata: object) -> bool:
    if metadata is None:
        return True
    if not isinstance(metadata, Mapping) or len(metadata) > _METADATA_MAX_KEYS:
        return False
    size = 0
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            return False
        size += len(key) + len(value)
    return size <= _METADATA_MAX_CHARS


def _same_metadata(a: Mapping[str, str] | None, b: Mapping[str, str] | None) -> bool:
    return dict(a or {}) == dict(b or {})


def _matches_stored(t: Transfer, s: StoredTransfer) -> bool:
    """Is `t` a retry of the stored transfer `s`? Fields a post/void may omit match any."""
    if int(t.flags) != s.flags or t.pending_id != s.pending_id or t.timeout != s.timeout:
        return False
    if t.amount != s.requested_amount or not _same_metadata(t.metadata, s.metadata):
        return False
    if s.flags & _RESOLVING:
        return (
            (t.debit_account_id is None or t.debit_account_id == s.debit_account_id)
            and (t.credit_account_id is None or t.credit_account_id == s.credit_account_id)
            and (t.asset is None or t.asset == s.asset)
            and (t.code == 0 or t.code == s.code)
        )
    return (
        t.debit_account_id == s.debit_account_id
        and t.credit_account_id == s.credit_account_id
        and t.asset == s.asset
        and t.code == s.code
    )


class _Batch:
    def __init__(
        self,
        accounts: Mapping[AccountId, Account | AccountRow],
        existing: Mapping[TransferId, StoredTransfer],
        failed: Mapping[TransferId, TransferResult],
        referenced: Mapping[TransferId, StoredTransfer],
        pending_states: Mapping[TransferId, PendingState],
        now: int,
    ) -> None:
        self.totals = {account_id: _Totals(a) for account_id, a in accounts.items()}
        self.existing = existing
        self.failed = dict(failed)
        self.referenced = referenced
        self.pending_states = dict(pending_states)
        self.now = now
        self.clock = now
        self.created: dict[TransferId, StoredTransfer] = {}
        self.new_pendings: dict[TransferId, PendingState] = {}
        self.resolved: dict[TransferId, tuple[PendingStatus, int]] = {}
        self.failures: list[tuple[TransferId, TransferResult]] = []
        self._failures_told = 0
        # While a linked chain is open, how to put things back if it fails.
        self.undo: list[tuple[str, int, object]] | None = None

    # -- time ---------------------------------------------------------------------------
    def tick(self) -> int:
        timestamp = self.clock
        self.clock += 1
        return timestamp

    # -- state changes, each undoable inside a chain ---------------------------------
    def _touch(self, account_id: AccountId) -> _Totals:
        totals = self.totals[account_id]
        if self.undo is not None:
            self.undo.append(("account", account_id, totals.snapshot()))
        return totals

    def _resolve(self, pending_id: TransferId, status: PendingStatus, when: int) -> None:
        if self.undo is not None:
            self.undo.append(("resolved", pending_id, self.resolved.get(pending_id)))
        self.resolved[pending_id] = (status, when)

    def _create(self, stored: StoredTransfer, pending: PendingState | None) -> None:
        if self.undo is not None:
            self.undo.append(("created", stored.id, None))
        self.created[stored.id] = stored
        if pending is not None:
            self.new_pendings[stored.id] = pending

    def rollback(self) -> None:
        assert self.undo is not None
        for kind, key, saved in reversed(self.undo):
            if kind == "account":
                self.totals[key].restore(saved)  # type: ignore[arg-type]
            elif kind == "resolved":
                if saved is None:
                    del self.resolved[key]
                else:
                    self.resolved[key] = saved  # type: ignore[assignment]
            else:
                del self.created[key]
                self.new_pendings.pop(key, None)

    # -- expiry -------------------------------------------------------------------------
    def expire(self, due: Sequence[PendingState]) -> None:
        for pending in sorted(due, key=lambda p: (p.expires_at, p.id)):
            when = self.tick()
            debit = self.totals[pending.debit_account_id]
            credit = self.totals[pending.credit_account_id]
            debit.debits_pending -= pending.amount
            credit.credits_pending -= pending.amount
            debit.last = credit.last = when
            self.resolved[pending.id] = (PendingStatus.EXPIRED, when)

    def status_of(self, pending_id: TransferId) -> tuple[PendingStatus, int]:
        """(status, expires_at) of a pending transfer known to exist."""
        if pending_id in self.resolved:
            return self.resolved[pending_id][0], 0
        state = self.new_pendings.get(pending_id) or self.pending_states[pending_id]
        return state.status, state.expires_at

    # -- one transfer -------------------------------------------------------------------
    def create(self, t: Transfer) -> TransferResult:
        transfer_id = t.id
        if not 0 < transfer_id < ID_MAX:
            return R.ID_OUT_OF_RANGE if transfer_id else R.ID_MUST_NOT_BE_ZERO
        stored = self.created.get(transfer_id) or self.existing.get(transfer_id)
        if stored is not None:
            return R.EXISTS if _matches_stored(t, stored) else R.EXISTS_WITH_DIFFERENT_FIELDS
        if transfer_id in self.failed:
            return R.ID_ALREADY_FAILED
        flags = int(t.flags)
        result = self._validate(t, flags)
        if result is R.OK:
            result = self._resolve_pending(t, flags) if flags & _RESOLVING else self._move(t, flags)
            if result is R.OK:
                return result
        if result in STATE_DEPENDENT_FAILURES:
            self.failed[transfer_id] = result
            self.failures.append((transfer_id, result))
        return result

    def _validate(self, t: Transfer, flags: int) -> TransferResult:
        if flags:
            kind = flags & _KIND_FLAGS
            if kind & (kind - 1) or (flags & _BALANCING and flags & _RESOLVING):
                return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        if not 0 <= t.code <= _CODE_MAX:
            return R.CODE_OUT_OF_RANGE
        if t.metadata is not None and not _valid_metadata(t.metadata):
            return R.METADATA_INVALID
        amount = t.amount
        if amount is not None and not 0 < amount <= INT64_MAX:
            return R.AMOUNT_MUST_BE_POSITIVE if amount <= 0 else R.OVERFLOWS_DEBITS
        if t.timeout:
            if not flags & _PENDING:
                return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
            if not 0 < t.timeout <= _TIMEOUT_MAX:
                return R.TIMEOUT_OUT_OF_RANGE
        return R.OK

    def _move(self, t: Transfer, flags: int) -> TransferResult:
        if t.pending_id is not None:
            return R.PENDING_ID_NOT_ALLOWED
        debit_id, credit_id = t.debit_account_id, t.credit_account_id
        if debit_id is None or credit_id is None:
            return R.ACCOUNT_ID_REQUIRED
        if debit_id == credit_id:
            return R.SAME_ACCOUNT
        amount = t.amount
        if amount is None:
            return R.AMOUNT_MUST_BE_POSITIVE
        if t.asset is None:
            return R.ASSET_REQUIRED
        totals = self.totals
        debit = totals.get(debit_id)
        credit = totals.get(credit_id)
        if debit is None or credit is None:
            return R.ACCOUNT_NOT_FOUND
        if debit.asset != t.asset or credit.asset != t.asset:
            return R.ASSET_MISMATCH
        if (debit.flags | credit.flags) & _CLOSED:
            return R.ACCOUNT_CLOSED
        if flags & _BALANCING_DEBIT:
            amount = min(amount, max(0, debit.credits_posted - debit.debits_posted - debit.debits_pending))
            if amount == 0:
                return R.EXCEEDS_CREDITS
        if flags & _BALANCING_CREDIT:
            amount = min(
                amount, max(0, credit.debits_posted - credit.credits_posted - credit.credits_pending)
            )
            if amount == 0:
                return R.EXCEEDS_DEBITS
        debits_after = debit.debits_posted + debit.debits_pending + amount
        credits_after = credit.credits_posted + credit.credits_pending + amount
        if debits_after > INT64_MAX:
            return R.OVERFLOWS_DEBITS
        if credits_after > INT64_MAX:
            return R.OVERFLOWS_CREDITS
        if debit.flags & _DMNEC and debits_after > debit.credits_posted:
            return R.EXCEEDS_CREDITS
        if credit.flags & _CMNED and credits_after > credit.debits_posted:
            return R.EXCEEDS_DEBITS
        timestamp = self.clock
        expires_at = 0
        if t.timeout:
            expires_at = timestamp + t.timeout * NS_PER_SECOND
            if expires_at > INT64_MAX:
                return R.TIMEOUT_OUT_OF_RANGE
        # What tick, _touch and _create do, inlined: this runs for every transfer.
        self.clock = timestamp + 1
        undo = self.undo
        if undo is not None:
            undo.append(("account", debit_id, debit.snapshot()))
            undo.append(("account", credit_id, credit.snapshot()))
            undo.append(("created", t.id, None))
        if flags & _PENDING:
            debit.debits_pending += amount
            credit.credits_pending += amount
            self.new_pendings[t.id] = PendingState(
                t.id, debit_id, credit_id, amount, expires_at, PendingStatus.PENDING
            )
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        debit.last = credit.last = timestamp
        self.created[t.id] = StoredTransfer(
            t.id, debit_id, credit_id, amount, t.amount, t.asset, t.code, flags, None, t.timeout,
            t.metadata, timestamp,
        )  # fmt: skip
        return R.OK

    def _resolve_pending(self, t: Transfer, flags: int) -> TransferResult:
        pending_id = t.pending_id
        if pending_id is None:
            return R.PENDING_ID_REQUIRED
        if pending_id == t.id:
            return R.PENDING_ID_MUST_BE_DIFFERENT
        p = self.created.get(pending_id) or self.referenced.get(pending_id)
        if p is None:
            return R.PENDING_NOT_FOUND
        if not p.flags & _PENDING:
            return R.PENDING_NOT_PENDING
        if (t.debit_account_id is not None and t.debit_account_id != p.debit_account_id) or (
            t.credit_account_id is not None and t.credit_account_id != p.credit_account_id
        ):
            return R.PENDING_HAS_DIFFERENT_ACCOUNTS
        if t.asset is not None and t.asset != p.asset:
            return R.PENDING_HAS_DIFFERENT_ASSET
        if t.code and t.code != p.code:
            return R.PENDING_HAS_DIFFERENT_CODE
        status, _ = self.status_of(pending_id)
        if status is not PendingStatus.PENDING:
            return _ALREADY_RESOLVED[status]
        posting = bool(flags & _POST)
        amount = p.amount if t.amount is None else t.amount
        if posting and amount > p.amount:
            return R.EXCEEDS_PENDING_AMOUNT
        if not posting and amount != p.amount:
            return R.PENDING_HAS_DIFFERENT_AMOUNT
        debit = self.totals[p.debit_account_id]
        credit = self.totals[p.credit_account_id]
        if posting:
            if (debit.flags | credit.flags) & _CLOSED:
                return R.ACCOUNT_CLOSED
            if debit.debits_posted + amount > INT64_MAX:
                return R.OVERFLOWS_DEBITS
            if credit.credits_posted + amount > INT64_MAX:
                return R.OVERFLOWS_CREDITS
        timestamp = self.tick()
        debit = self._touch(p.debit_account_id)
        credit = self._touch(p.credit_account_id)
        debit.debits_pending -= p.amount
        credit.credits_pending -= p.amount
        if posting:
            debit.debits_posted += amount
            credit.credits_posted += amount
        debit.last = credit.last = timestamp
        self._resolve(pending_id, PendingStatus.POSTED if posting else PendingStatus.VOIDED, timestamp)
        stored = StoredTransfer(
            t.id, p.debit_account_id, p.credit_account_id, amount, t.amount, p.asset,
            t.code or p.code, flags, pending_id, 0, t.metadata, timestamp,
        )  # fmt: skip
        self._create(stored, None)
        return R.OK

    # -- the batch ----------------------------------------------------------------------
    def run(self, transfers: Sequence[Transfer], decided: Decided | None = None) -> list[TransferResult]:
        results: list[TransferResult] = [R.OK] * len(transfers)
        count = len(transfers)
        start = 0
        told = next_tell = 0
        while start < count:
            if decided is not None and start >= next_tell:
                told = self._tell(decided, told)
                next_tell = start + DECIDED_EVERY
            end = start
            while end < count and int(transfers[end].flags) & _LINKED:
                end += 1
            chain_open = end == count
            if chain_open:
                end = count - 1
            if start == end and not chain_open:
                results[start] = self.create(transfers[start])
            else:
                self._run_chain(transfers, start, end, chain_open, results)
            start = end + 1
        if decided is not None:
            self._tell(decided, told)
        return results

    def _tell(self, decided: Decided, told: int) -> int:
        """Pass on what was created and what failed since `told` transfers had been
        created; returns how many have been now. Only called between chains: what a
        failed chain created is gone from `created` by then, and `failures` only grows."""
        created = len(self.created)
        fresh = list(itertools.islice(reversed(self.created.values()), created - told))
        fresh.reverse()
        failures = self.failures[self._failures_told :]
        self._failures_told = len(self.failures)
        if fresh or failures:
            decided(fresh, failures)
        return created

    def _run_chain(
        self,
        transfers: Sequence[Transfer],
        start: int,
        end: int,
        chain_open: bool,
        results: list[TransferResult],
    ) -> None:
        self.undo = []
        clock = self.clock
        failed_at = -1
        # The last transfer of a chain left open at the end of the batch is refused as
        # such without being evaluated (so its id stays free), and fails the chain.
        last = end - 1 if chain_open else end
        for index in range(start, last + 1):
            result = self.create(transfers[index])
            results[index] = result
            if result is not R.OK and result is not R.EXISTS:
                failed_at = index
                break
        if chain_open:
            results[end] = R.LINKED_EVENT_CHAIN_OPEN
        if failed_at >= 0 or chain_open:
            self.rollback()
            self.clock = clock
            for index in range(start, end + 1):
                if index != failed_at and not (chain_open and index == end):
                    results[index] = R.LINKED_EVENT_FAILED
        self.undo = None

    def _final(self, pending: PendingState) -> PendingState:
        """A pending transfer created in this batch, with any later post/void applied."""
        if pending.id not in self.resolved:
            return pending
        status, when = self.resolved[pending.id]
        return PendingState(
            pending.id, pending.debit_account_id, pending.credit_account_id, pending.amount,
            pending.expires_at, status, when,
        )  # fmt: skip

    def outcome(self, results: list[TransferResult]) -> BatchOutcome:
        changes: dict[AccountId, AccountChange] = {}
        for account_id, totals in self.totals.items():
            if not totals.last:
                continue
            _, _, debits_posted, credits_posted, debits_pending, credits_pending = totals.original
            changes[account_id] = AccountChange(
                totals.debits_posted - debits_posted,
                totals.credits_posted - credits_posted,
                totals.debits_pending - debits_pending,
                totals.credits_pending - credits_pending,
                totals.last,
            )
        return BatchOutcome(
            results=results,
            transfers=list(self.created.values()),
            account_changes=changes,
            new_pendings=[self._final(pending) for pending in self.new_pendings.values()],
            resolved_pendings=[
                (pid, status, when)
                for pid, (status, when) in self.resolved.items()
                if pid not in self.new_pendings
            ],
            failures=self.failures,
        )


def apply_batch(
    transfers: Sequence[Transfer],
    *,
    accounts: Mapping[AccountId, Account | AccountRow],
    existing: Mapping[TransferId, StoredTransfer],
    failed: Mapping[TransferId, TransferResult],
    referenced: Mapping[TransferId, StoredTransfer],
    pending_states: Mapping[TransferId, PendingState],
    due: Sequence[PendingState],
    now: int,
    decided: Decided | None = None,
) -> BatchOutcome:
    """Apply `transfers` in order, after expiring the `due` pending transfers.

    `accounts` holds every account named by the batch, by its referenced pending
    transfers and by `due`; `existing` and `failed` the stored outcome of any id in the
    batch; `referenced` and `pending_states` every transfer named by a pending_id.
    `now` is the batch's first timestamp (nanoseconds), later than any event already on
    these accounts; each event takes the next nanosecond.

    With `decided`, the transfers created and the ids failed are also handed to it as
    the batch goes (every `DECIDED_EVERY` transfers or so), each exactly once, in the
    order of the outcome's `transfers` and `failures`.
    """
    batch = _Batch(accounts, existing, failed, referenced, pending_states, now)
    batch.expire(due)
    results = batch.run(transfers, decided)
    return batch.outcome(results)
