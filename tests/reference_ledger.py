"""A ledger in plain Python memory, written from the rules alone, for tests to compare with.

Deliberately naive and independent of `obolo.ledger.batch`: each transfer is checked one
rule at a time in the order the rules are stated, a linked chain is undone by putting
back a deep copy taken before it, and time is simply the clock reading a call is given.
It shares nothing with the engine but the names of flags and result codes.

The rules (TigerBeetle's, with this ledger's choices):

- A transfer moves `amount` from a debit account to a credit account of the same asset.
  PENDING reserves it (`*_pending`); POST_PENDING_TRANSFER moves all or part of a
  reservation to `*_posted`; VOID_PENDING_TRANSFER releases it; a timeout expires it.
- An id is taken once: a retry answers `exists` (same fields) or
  `exists_with_different_fields`; an id that failed for a reason that depends on the
  state of the ledger answers `id_already_failed`.
- LINKED chains a transfer to the next one; a chain happens whole or not at all, and a
  batch may not end inside a chain. `exists` does not break a chain.
- A pending transfer expires once the clock passes its creation time plus its timeout:
  in a batch that names one of its accounts (or a transfer on them by pending id), or in
  a sweep.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from obolo.ledger.model import (
    STATE_DEPENDENT_FAILURES,
    Account,
    AccountFlags,
    AccountResult,
    CloseResult,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferResult,
)

R = TransferResult
F = TransferFlags

NS_PER_SECOND = 1_000_000_000
INT64_MAX = 2**63 - 1
ASSETS = ("EUR", "USD")

_KINDS = (F.PENDING, F.POST_PENDING_TRANSFER, F.VOID_PENDING_TRANSFER)
_RESOLVING = F.POST_PENDING_TRANSFER | F.VOID_PENDING_TRANSFER
_BALANCING = F.BALANCING_DEBIT | F.BALANCING_CREDIT
_LIMITS = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


class _Failed(Exception):
    """A transfer is refused; `code` says why."""

    def __init__(self, code: TransferResult) -> None:
        super().__init__(code)
        self.code = code


def _refuse_if(condition: object, code: TransferResult) -> None:
    if condition:
        raise _Failed(code)


@dataclass
class RefAccount:
    request: Account
    flags: AccountFlags
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def asset(self) -> str:
        return self.request.asset

    @property
    def closed(self) -> bool:
        return bool(self.flags & AccountFlags.CLOSED)

    def totals(self) -> tuple[int, int, int, int]:
        """(debits_posted, credits_posted, debits_pending, credits_pending)"""
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)


@dataclass(frozen=True)
class RefTransfer:
    """An applied transfer: the request as sent, and the values it resolved to."""

    request: Transfer
    debit_account_id: int
    credit_account_id: int
    amount: int
    asset: str
    code: int
    #: Clock reading after which a pending transfer expires; 0: never.
    expires_at: int = 0

    @property
    def flags(self) -> TransferFlags:
        return self.request.flags


class ReferenceLedger:
    """Accounts and transfers in dictionaries; every call is given the clock reading."""

    def __init__(self) -> None:
        self.accounts: dict[int, RefAccount] = {}
        self.transfers: dict[int, RefTransfer] = {}
        self.pending_status: dict[int, PendingStatus] = {}
        self.failed: dict[int, TransferResult] = {}

    # -- accounts -------------------------------------------------------------------
    def create_accounts(self, accounts: Sequence[Account]) -> list[AccountResult]:
        results = []
        for account in accounts:
            existing = self.accounts.get(account.id)
            if account.id == 0:
                result = AccountResult.ID_MUST_NOT_BE_ZERO
            elif existing is not None:
                asked = existing.request
                same = (asked.asset, asked.code, asked.flags, asked.owner) == (
                    account.asset,
                    account.code,
                    account.flags,
                    account.owner,
                )
                result = AccountResult.EXISTS if same else AccountResult.EXISTS_WITH_DIFFERENT_FIELDS
            elif account.flags & _LIMITS == _LIMITS:
                result = AccountResult.FLAGS_ARE_MUTUALLY_EXCLUSIVE
            elif account.asset not in ASSETS:
                result = AccountResult.UNKNOWN_ASSET
            else:
                self.accounts[account.id] = RefAccount(account, AccountFlags(account.flags))
                result = AccountResult.OK
            results.append(result)
        return results

    def close_accounts(self, ids: Iterable[int]) -> list[CloseResult]:
        results = []
        for account_id in ids:
            account = self.accounts.get(account_id)
            if account is None:
                results.append(CloseResult.ACCOUNT_NOT_FOUND)
            elif account.closed:
                results.append(CloseResult.ALREADY_CLOSED)
            else:
                account.flags |= AccountFlags.CLOSED
                results.append(CloseResult.OK)
        return results

    def totals_by_asset(self) -> dict[str, tuple[int, int, int, int]]:
        sums: dict[str, tuple[int, int, int, int]] = {}
        for account in self.accounts.values():
            before = sums.get(account.asset, (0, 0, 0, 0))
            sums[account.asset] = tuple(a + b for a, b in zip(before, account.totals(), strict=True))
        return sums

    # -- expiry ---------------------------------------------------------------------
    def expire(self, now: int, *, touching: set[int] | None = None) -> int:
        """Expire the pending transfers whose time has passed (only those on the accounts
        in `touching`, when given); how many expired."""
        expired = 0
        for transfer_id, status in list(self.pending_status.items()):
            t = self.transfers[transfer_id]
            if status is not PendingStatus.PENDING or not t.expires_at or not t.expires_at < now:
                continue
            if touching is not None and not {t.debit_account_id, t.credit_account_id} & touching:
                continue
            self.accounts[t.debit_account_id].debits_pending -= t.amount
            self.accounts[t.credit_account_id].credits_pending -= t.amount
            self.pending_status[transfer_id] = PendingStatus.EXPIRED
            expired += 1
        return expired

    def _touched_by(self, batch: Sequence[Transfer]) -> set[int]:
        """The accounts a batch names, directly or through the transfers its pending ids name."""
        touched = set()
        for t in batch:
            touched |= {t.debit_account_id, t.credit_account_id} - {None}
            named = self.transfers.get(t.pending_id) if t.pending_id is not None else None
            if named is not None:
                touched |= {named.debit_account_id, named.credit_account_id}
        return touched

    # -- transfers ------------------------------------------------------------------
    def create_transfers(self, batch: Sequence[Transfer], now: int) -> list[TransferResult]:
        """Apply `batch` in order at clock reading `now`; one result per transfer."""
        if not batch:
            return []
        self.expire(now, touching=self._touched_by(batch))
        results: list[TransferResult | None] = [None] * len(batch)
        start = 0
        while start < len(batch):
            end = start  # the chain is batch[start : end + 1]
            while end < len(batch) - 1 and batch[end].flags & F.LINKED:
                end += 1
            self._apply_chain(batch, start, end, now, results)
            start = end + 1
        assert all(result is not None for result in results)
        return results

    def _apply_chain(
        self, batch: Sequence[Transfer], start: int, end: int, now: int, results: list[TransferResult | None]
    ) -> None:
        """batch[start..end]: one transfer, or a linked chain (open if its last is LINKED)."""
        members = range(start, end + 1)
        is_open = bool(batch[end].flags & F.LINKED)
        saved = copy.deepcopy((self.accounts, self.transfers, self.pending_status))
        failed_at = None
        for index in members:
            if is_open and index == end:
                break  # the last of an open chain is refused without being looked at
            result = self._create(batch[index], now)
            results[index] = result
            if result not in (R.OK, R.EXISTS):
                failed_at = index
                break
        if failed_at is None and not is_open:
            return
        # Undo the chain; the failures it recorded stay recorded.
        self.accounts, self.transfers, self.pending_status = saved
        for index in members:
            if is_open and index == end:
                results[index] = R.LINKED_EVENT_CHAIN_OPEN
            elif index != failed_at:
                results[index] = R.LINKED_EVENT_FAILED

    def _create(self, t: Transfer, now: int) -> TransferResult:
        if t.id == 0:
            return R.ID_MUST_NOT_BE_ZERO
        stored = self.transfers.get(t.id)
        if stored is not None:
            return R.EXISTS if _is_retry_of(t, stored) else R.EXISTS_WITH_DIFFERENT_FIELDS
        if t.id in self.failed:
            return R.ID_ALREADY_FAILED
        try:
            self._check_fields(t)
            if t.flags & _RESOLVING:
                self._post_or_void(t)
            else:
                self._move(t, now)
        except _Failed as failure:
            if failure.code in STATE_DEPENDENT_FAILURES:
                self.failed[t.id] = failure.code
            return failure.code
        return R.OK

    def _check_fields(self, t: Transfer) -> None:
        kinds = [kind for kind in _KINDS if t.flags & kind]
        _refuse_if(
            len(kinds) > 1 or (t.flags & _BALANCING and t.flags & _RESOLVING), R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
        )
        _refuse_if(t.amount is not None and t.amount <= 0, R.AMOUNT_MUST_BE_POSITIVE)
        _refuse_if(t.timeout and not t.flags & F.PENDING, R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER)

    def _move(self, t: Transfer, now: int) -> None:
        """A transfer posted at once, or a pending one."""
        _refuse_if(t.pending_id is not None, R.PENDING_ID_NOT_ALLOWED)
        _refuse_if(t.debit_account_id is None or t.credit_account_id is None, R.ACCOUNT_ID_REQUIRED)
        _refuse_if(t.debit_account_id == t.credit_account_id, R.SAME_ACCOUNT)
        _refuse_if(t.amount is None, R.AMOUNT_MUST_BE_POSITIVE)
        _refuse_if(t.asset is None, R.ASSET_REQUIRED)
        debit = self.accounts.get(t.debit_account_id)
        credit = self.accounts.get(t.credit_account_id)
        _refuse_if(debit is None or credit is None, R.ACCOUNT_NOT_FOUND)
        _refuse_if(debit.asset != t.asset or credit.asset != t.asset, R.ASSET_MISMATCH)
        _refuse_if(debit.closed or credit.closed, R.ACCOUNT_CLOSED)
        amount = t.amount
        if t.flags & F.BALANCING_DEBIT:
            amount = min(amount, debit.credits_posted - debit.debits_posted - debit.debits_pending)
            _refuse_if(amount <= 0, R.EXCEEDS_CREDITS)
        if t.flags & F.BALANCING_CREDIT:
            amount = min(amount, credit.debits_posted - credit.credits_posted - credit.credits_pending)
            _refuse_if(amount <= 0, R.EXCEEDS_DEBITS)
        debits = debit.debits_posted + debit.debits_pending + amount
        credits = credit.credits_posted + credit.credits_pending + amount
        _refuse_if(debits > INT64_MAX, R.OVERFLOWS_DEBITS)
        _refuse_if(credits > INT64_MAX, R.OVERFLOWS_CREDITS)
        _refuse_if(
            debit.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and debits > debit.credits_posted,
            R.EXCEEDS_CREDITS,
        )
        _refuse_if(
            credit.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and credits > credit.debits_posted,
            R.EXCEEDS_DEBITS,
        )
        if t.flags & F.PENDING:
            debit.debits_pending += amount
            credit.credits_pending += amount
            self.pending_status[t.id] = PendingStatus.PENDING
        else:
            debit.debits_posted += amount
            credit.credits_posted += amount
        expires_at = now + t.timeout * NS_PER_SECOND if t.timeout else 0
        self.transfers[t.id] = RefTransfer(
            t, debit.request.id, credit.request.id, amount, t.asset, t.code, expires_at
        )

    def _post_or_void(self, t: Transfer) -> None:
        _refuse_if(t.pending_id is None, R.PENDING_ID_REQUIRED)
        _refuse_if(t.pending_id == t.id, R.PENDING_ID_MUST_BE_DIFFERENT)
        p = self.transfers.get(t.pending_id)
        _refuse_if(p is None, R.PENDING_NOT_FOUND)
        _refuse_if(not p.flags & F.PENDING, R.PENDING_NOT_PENDING)
        _refuse_if(
            t.debit_account_id not in (None, p.debit_account_id)
            or t.credit_account_id not in (None, p.credit_account_id),
            R.PENDING_HAS_DIFFERENT_ACCOUNTS,
        )
        _refuse_if(t.asset not in (None, p.asset), R.PENDING_HAS_DIFFERENT_ASSET)
        _refuse_if(t.code not in (0, p.code), R.PENDING_HAS_DIFFERENT_CODE)
        status = self.pending_status[p.request.id]
        _refuse_if(status is PendingStatus.POSTED, R.PENDING_ALREADY_POSTED)
        _refuse_if(status is PendingStatus.VOIDED, R.PENDING_ALREADY_VOIDED)
        _refuse_if(status is PendingStatus.EXPIRED, R.PENDING_EXPIRED)
        posting = bool(t.flags & F.POST_PENDING_TRANSFER)
        amount = p.amount if t.amount is None else t.amount
        _refuse_if(posting and amount > p.amount, R.EXCEEDS_PENDING_AMOUNT)
        _refuse_if(not posting and amount != p.amount, R.PENDING_HAS_DIFFERENT_AMOUNT)
        debit = self.accounts[p.debit_account_id]
        credit = self.accounts[p.credit_account_id]
        _refuse_if(posting and (debit.closed or credit.closed), R.ACCOUNT_CLOSED)
        _refuse_if(posting and debit.debits_posted + amount > INT64_MAX, R.OVERFLOWS_DEBITS)
        _refuse_if(posting and credit.credits_posted + amount > INT64_MAX, R.OVERFLOWS_CREDITS)
        debit.debits_pending -= p.amount
        credit.credits_pending -= p.amount
        if posting:
            debit.debits_posted += amount
            credit.credits_posted += amount
        self.pending_status[p.request.id] = PendingStatus.POSTED if posting else PendingStatus.VOIDED
        self.transfers[t.id] = RefTransfer(
            t, p.debit_account_id, p.credit_account_id, amount, p.asset, t.code or p.code
        )


def _is_retry_of(t: Transfer, stored: RefTransfer) -> bool:
    """Does `t` ask for exactly what `stored` was asked for? A post or void may leave out
    accounts, asset and code (None / 0): those match whatever the pending transfer had."""
    asked = stored.request
    if (t.flags, t.pending_id, t.timeout, t.amount) != (
        asked.flags,
        asked.pending_id,
        asked.timeout,
        asked.amount,
    ):
        return False
    if dict(t.metadata or {}) != dict(asked.metadata or {}):
        return False
    given = (t.debit_account_id, t.credit_account_id, t.asset, t.code)
    resolved = (stored.debit_account_id, stored.credit_account_id, stored.asset, stored.code)
    if t.flags & _RESOLVING:
        omitted = (None, None, None, 0)
        return all(g in (o, r) for g, o, r in zip(given, omitted, resolved, strict=True))
    return given == resolved
