"""The ledger's values: accounts, transfers, flags and result codes. Pure: no I/O.

Semantics follow TigerBeetle's: a transfer moves `amount` units from a debit account
to a credit account of the same asset; it is posted at once, or *pending* (reserving
the funds) until a later transfer posts or voids it, or it times out.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from obolo.money import INT64_MAX

AccountId = int
TransferId = int

MAX_BATCH: Final = 8_000
ID_MAX: Final = 2**128 - 1
NS_PER_SECOND: Final = 1_000_000_000


class AccountFlags(enum.IntFlag):
    NONE = 0
    #: A prepaid wallet: debits (posted + pending) may never exceed posted credits.
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1
    #: The mirror image, for liability accounts that must not go negative the other way.
    CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2
    #: No new transfers; pending transfers on it may still be voided or expire.
    CLOSED = 1 << 3


class TransferFlags(enum.IntFlag):
    NONE = 0
    #: This transfer and the next one succeed or fail together (a chain ends at the
    #: first transfer without the flag).
    LINKED = 1 << 0
    #: Reserve the amount: it counts against limits but is not yet posted.
    PENDING = 1 << 1
    #: Post the pending transfer named in pending_id (all of it, or `amount` of it).
    POST_PENDING_TRANSFER = 1 << 2
    #: Release the pending transfer named in pending_id.
    VOID_PENDING_TRANSFER = 1 << 3
    #: Move as much as the debit account can give, up to `amount`.
    BALANCING_DEBIT = 1 << 4
    #: Move as much as the credit account can take, up to `amount`.
    BALANCING_CREDIT = 1 << 5


class AccountResult(enum.StrEnum):
    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    ID_OUT_OF_RANGE = "id_out_of_range"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    UNKNOWN_ASSET = "unknown_asset"
    CODE_OUT_OF_RANGE = "code_out_of_range"


class CloseResult(enum.StrEnum):
    OK = "ok"
    ALREADY_CLOSED = "already_closed"
    ACCOUNT_NOT_FOUND = "account_not_found"


class TransferResult(enum.StrEnum):
    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    ID_ALREADY_FAILED = "id_already_failed"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    ID_OUT_OF_RANGE = "id_out_of_range"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    ACCOUNT_ID_REQUIRED = "account_id_required"
    SAME_ACCOUNT = "same_account"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    ASSET_REQUIRED = "asset_required"
    CODE_OUT_OF_RANGE = "code_out_of_range"
    METADATA_INVALID = "metadata_invalid"
    PENDING_ID_REQUIRED = "pending_id_required"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    PENDING_ID_NOT_ALLOWED = "pending_id_not_allowed"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    TIMEOUT_OUT_OF_RANGE = "timeout_out_of_range"
    ACCOUNT_NOT_FOUND = "account_not_found"
    ASSET_MISMATCH = "asset_mismatch"
    ACCOUNT_CLOSED = "account_closed"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    PENDING_NOT_FOUND = "pending_not_found"
    PENDING_NOT_PENDING = "pending_not_pending"
    PENDING_ALREADY_POSTED = "pending_already_posted"
    PENDING_ALREADY_VOIDED = "pending_already_voided"
    PENDING_EXPIRED = "pending_expired"
    PENDING_HAS_DIFFERENT_ACCOUNTS = "pending_has_different_accounts"
    PENDING_HAS_DIFFERENT_ASSET = "pending_has_different_asset"
    PENDING_HAS_DIFFERENT_CODE = "pending_has_different_code"
    PENDING_HAS_DIFFERENT_AMOUNT = "pending_has_different_amount"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"


#: Failures that depend on the state of the ledger when the transfer arrived. Their ids
#: are kept, so a retry answers `id_already_failed` instead of succeeding later: a
#: client's retry never turns an old failure into a surprise payment.
STATE_DEPENDENT_FAILURES: Final = frozenset(
    {
        TransferResult.ACCOUNT_NOT_FOUND,
        TransferResult.ACCOUNT_CLOSED,
        TransferResult.EXCEEDS_CREDITS,
        TransferResult.EXCEEDS_DEBITS,
        TransferResult.OVERFLOWS_DEBITS,
        TransferResult.OVERFLOWS_CREDITS,
        TransferResult.PENDING_NOT_FOUND,
        TransferResult.PENDING_ALREADY_POSTED,
        TransferResult.PENDING_ALREADY_VOIDED,
        TransferResult.PENDING_EXPIRED,
    }
)


class PendingStatus(enum.IntEnum):
    PENDING = 1
    POSTED = 2
    VOIDED = 3
    EXPIRED = 4


def as_id(value: int | uuid.UUID) -> int:
    """A 128-bit id from an int or a UUID (UUIDv7 ids sort by time)."""
    if isinstance(value, uuid.UUID):
        return value.int
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an id is an int or a UUID, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Account:
    """A ledger account. Totals and timestamp are the ledger's to set; callers creating an
    account give id, asset, code, flags and optionally an owner reference."""

    id: AccountId
    asset: str
    code: int = 0
    flags: AccountFlags = AccountFlags.NONE
    owner: str | None = None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    timestamp: int = 0

    @property
    def balance(self) -> int:
        """Posted credits minus posted debits: what a wallet holds."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What a wallet (debits-must-not-exceed-credits) can still spend."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class Transfer:
    """A request to move money, and, once stored, the record of it.

    For POST_PENDING_TRANSFER / VOID_PENDING_TRANSFER, accounts, asset, code and amount
    may be left out (None / 0): they are taken from the pending transfer, and `amount`
    None means "all of it". Stored transfers always carry the resolved values.
    """

    id: TransferId
    debit_account_id: AccountId | None = None
    credit_account_id: AccountId | None = None
    amount: int | None = None
    asset: str | None = None
    code: int = 0
    flags: TransferFlags = TransferFlags.NONE
    pending_id: TransferId | None = None
    #: Seconds a pending transfer may stay open; 0 means no timeout.
    timeout: int = 0
    metadata: Mapping[str, str] | None = field(default=None, compare=True)
    timestamp: int = 0


class StoredTransfer(NamedTuple):
    """A transfer as the ledger keeps it. `requested_amount` is what the client asked for
    (None: "the whole pending amount"), kept so a retry compares against the request.
    A named tuple, not a dataclass: a batch builds thousands of these."""

    id: TransferId
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount: int
    requested_amount: int | None
    asset: str
    code: int
    flags: int
    pending_id: TransferId | None
    timeout: int
    metadata: Mapping[str, str] | None
    timestamp: int

    def as_transfer(self) -> Transfer:
        return Transfer(
            id=self.id,
            debit_account_id=self.debit_account_id,
            credit_account_id=self.credit_account_id,
            amount=self.amount,
            asset=self.asset,
            code=self.code,
            flags=TransferFlags(self.flags),
            pending_id=self.pending_id,
            timeout=self.timeout,
            metadata=self.metadata,
            timestamp=self.timestamp,
        )


@dataclass(frozen=True, slots=True)
class PendingState:
    """Where a pending transfer stands; `expires_at` is 0 when it never expires."""

    id: TransferId
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount: int
    expires_at: int
    status: PendingStatus
    resolved_at: int = 0


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """An account's totals right after one event (a transfer or an expiry)."""

    timestamp: int
    transfer_id: TransferId
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted


def fits_int64(value: int) -> bool:
    return 0 <= value <= INT64_MAX
