"""Errors the ledger raises (as opposed to the per-item result codes it returns).

LedgerError
├── BatchTooLarge        more than MAX_BATCH items in one call
├── InvalidInput         a field of the wrong type (a float amount, a str id)
├── LedgerBusy           the database kept refusing the batch (contention); retry later
└── LedgerRefused        an item a use case had to see done was refused (`expect_ok`)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


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


class LedgerRefused(LedgerError, RuntimeError):
    """The ledger refused an item a use case had to see done (see `expect_ok`): never a
    person's mistake, a broken invariant of the caller. The transaction rolls back."""

    code = "ledger_refused"

    def __init__(self, what: str, refused: Sequence[enum.StrEnum]) -> None:
        super().__init__(f"{what}: the ledger refused ({', '.join(sorted(set(refused)))})")
        self.what = what
        #: The results that were not accepted, one per refused item.
        self.refused = list(refused)
