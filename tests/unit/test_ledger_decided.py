"""A batch hands on what it decides as it goes (for PostgreSQL's COPY to start early):
every created transfer and every recorded failure exactly once, in the outcome's order,
and a linked chain never split between two hand-overs (it is only final once closed)."""

from __future__ import annotations

from obolo.ledger.batch import DECIDED_EVERY, apply_batch
from obolo.ledger.model import (
    AccountFlags,
    StoredTransfer,
    Transfer,
    TransferFlags,
    TransferId,
    TransferResult,
)

R = TransferResult
LINKED = TransferFlags.LINKED
WALLET = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
# 1 a source without limits, 2 a wallet holding 100, 3 and 4 free.
ACCOUNTS = {
    1: ("EUR", 0, 0, 0, 0, 0),
    2: ("EUR", WALLET, 0, 100, 0, 0),
    3: ("EUR", 0, 0, 0, 0, 0),
    4: ("EUR", 0, 0, 0, 0, 0),
}


def mixed_batch() -> tuple[list[Transfer], list[list[TransferId]]]:
    """Moves, state failures, refusals and linked chains (some failing) across several
    hand-overs; returns the batch and the ids of each chain."""
    transfers: list[Transfer] = []
    chains: list[list[TransferId]] = []
    next_id = 1
    while len(transfers) < 3 * DECIDED_EVERY + 50:
        i = len(transfers)
        if i % 97 == 95:  # a chain of three, failing at its end every other time
            last_debit = 2 if i % 2 else 1
            amount = 1_000 if i % 2 else 1
            chain = [
                Transfer(next_id, 1, 3, 1, "EUR", 1, flags=LINKED),
                Transfer(next_id + 1, 1, 4, 1, "EUR", 1, flags=LINKED),
                Transfer(next_id + 2, last_debit, 3, amount, "EUR", 1),
            ]
            chains.append([t.id for t in chain])
            transfers += chain
            next_id += 3
            continue
        if i % 13 == 0:
            transfers.append(Transfer(next_id, 2, 3, 1_000, "EUR", 1))  # exceeds_credits, recorded
        elif i % 17 == 0:
            transfers.append(Transfer(next_id, 1, 3, 0, "EUR", 1))  # refused, not recorded
        else:
            transfers.append(Transfer(next_id, 1, 3 + i % 2, 1 + i % 5, "EUR", 1))
        next_id += 1
    return transfers, chains


def test_every_decision_is_handed_on_once_in_order_with_chains_whole():
    transfers, chains = mixed_batch()
    calls: list[tuple[list[StoredTransfer], list[tuple[TransferId, TransferResult]]]] = []

    def decided(created: list[StoredTransfer], failures: list[tuple[TransferId, TransferResult]]) -> None:
        calls.append((list(created), list(failures)))

    outcome = apply_batch(
        transfers, accounts=ACCOUNTS, existing={}, failed={}, referenced={}, pending_states={}, due=[],
        now=1_000, decided=decided,
    )  # fmt: skip
    assert len(calls) > 2
    assert [t for created, _ in calls for t in created] == outcome.transfers
    assert [f for _, failures in calls for f in failures] == outcome.failures
    assert R.EXCEEDS_CREDITS in {result for _, result in outcome.failures}
    assert R.AMOUNT_MUST_BE_POSITIVE in outcome.results
    handed = [{t.id for t in created} for created, _ in calls]
    applied_chains = [chain for chain in chains if set(chain) <= {t.id for t in outcome.transfers}]
    assert applied_chains
    assert len(applied_chains) < len(chains)
    for chain in applied_chains:
        assert any(set(chain) <= ids for ids in handed), f"chain {chain} split between hand-overs"


def test_the_same_outcome_with_or_without_hand_overs():
    transfers, _ = mixed_batch()
    kwargs = {"accounts": ACCOUNTS, "existing": {}, "failed": {}, "referenced": {}, "pending_states": {}}
    quiet = apply_batch(transfers, due=[], now=1_000, **kwargs)  # type: ignore[arg-type]
    told = apply_batch(transfers, due=[], now=1_000, decided=lambda created, failures: None, **kwargs)  # type: ignore[arg-type]
    assert told == quiet
