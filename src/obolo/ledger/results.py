"""Checking the per-item results of a batch where every item must be done.

A use case that sends transfers it needs (a hold, a payout, its fee) treats any result
but done as a bug, and says so in one way: `expect_ok` raises `LedgerRefused`, so the
transaction rolls back and nothing moves. Results a use case answers a person about
(`EXCEEDS_CREDITS` becomes InsufficientFunds) it checks first, itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from obolo.ledger.errors import LedgerRefused
from obolo.ledger.model import AccountResult, TransferResult

#: Done: made now, or made already by an earlier try of the same ids (a retry).
DONE: frozenset[TransferResult | AccountResult] = frozenset(
    {TransferResult.OK, TransferResult.EXISTS, AccountResult.OK, AccountResult.EXISTS}
)


def expect_ok(
    results: Sequence[TransferResult] | Sequence[AccountResult],
    what: str,
    *,
    retry_ok: bool = True,
    also: Collection[TransferResult | AccountResult] = (),
) -> None:
    """Return if every result is OK (or EXISTS, unless `retry_ok` is false, or one of
    `also`); raise LedgerRefused naming `what` otherwise."""
    accepted = (DONE if retry_ok else {TransferResult.OK, AccountResult.OK}) | set(also)
    refused = [result for result in results if result not in accepted]
    if refused:
        raise LedgerRefused(what, refused)
