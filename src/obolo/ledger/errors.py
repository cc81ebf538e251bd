"""Errors the ledger raises (as opposed to the per-item result codes it returns).

LedgerError
├── BatchTooLarge        more than MAX_BATCH items in one call
├── InvalidInput         a field of the wrong type (a float amount, a str id)
└── LedgerBusy           the database kept refusing the batch (contention); retry later
"""

from __future__ import annotations


class LedgerError(Exception):
    code = "ledger_error"


class BatchTooLarge(LedgerError):
    code = "batch_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a batch holds at most {limit} items, got {size}")
        self.size = size
        self.limit = limit


class InvalidInput(LedgerError, TypeError):
    code = "invalid_input"


class LedgerBusy(LedgerError):
    code = "ledger_busy"
