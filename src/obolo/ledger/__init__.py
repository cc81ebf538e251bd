"""The ledger: exact double-entry accounts and transfers. Knows nothing of any product.

Rules live in `model` and `batch` (pure, no I/O); `engine` runs them inside database
transactions; `check` proves the books balance.
"""

from obolo.ledger.engine import Ledger, LedgerSession
from obolo.ledger.errors import BatchTooLarge, InvalidInput, LedgerBusy, LedgerError, LedgerRefused
from obolo.ledger.model import (
    MAX_BATCH,
    Account,
    AccountBalance,
    AccountFlags,
    AccountResult,
    CloseResult,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferResult,
)
from obolo.ledger.results import expect_ok

__all__ = [
    "MAX_BATCH",
    "Account",
    "AccountBalance",
    "AccountFlags",
    "AccountResult",
    "BatchTooLarge",
    "CloseResult",
    "InvalidInput",
    "Ledger",
    "LedgerBusy",
    "LedgerError",
    "LedgerRefused",
    "LedgerSession",
    "PendingStatus",
    "Transfer",
    "TransferFlags",
    "TransferResult",
    "expect_ok",
]
