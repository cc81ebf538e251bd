"""A large batch on both databases: on PostgreSQL its rows go into a COPY while the
rules are still deciding the rest. Every outcome must land as if written at the end:
each applied transfer stored once, each state failure final, refusals leaving their ids
free, failed chains leaving nothing, and the totals matching what was applied."""

from __future__ import annotations

from obolo.ledger import Account, AccountFlags, Transfer, TransferFlags, TransferResult
from obolo.ledger.check import check_ledger

R = TransferResult
LINKED = TransferFlags.LINKED
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
SIZE = 1_700  # several hand-overs of the rules (every 512 transfers), far above a pipeline's few rows


def test_a_large_mixed_batch_lands_whole(ledger):
    assert (
        ledger.create_accounts(
            [Account(1, "EUR", 1), Account(2, "EUR", 10, WALLET), Account(3, "EUR", 1), Account(4, "EUR", 1)]
        )
        == ["ok"] * 4
    )
    assert ledger.create_transfers([Transfer(1, 1, 2, 100, "EUR", 1)]) == [R.OK]
    batch: list[Transfer] = []
    expected: list[TransferResult] = []
    while len(batch) < SIZE:
        i = len(batch)
        tid = 10_000 + i
        if i % 101 == 99:  # a chain of three across the batch, every other one failing at its end
            failing = (i // 101) % 2 == 1
            batch += [
                Transfer(tid, 1, 3, 7, "EUR", 1, flags=LINKED),
                Transfer(tid + 1, 1, 4, 7, "EUR", 1, flags=LINKED),
                Transfer(tid + 2, 2 if failing else 1, 3, 1_000 if failing else 7, "EUR", 1),
            ]
            expected += (
                [R.LINKED_EVENT_FAILED, R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS] if failing else [R.OK] * 3
            )
        elif i % 11 == 0:
            batch.append(Transfer(tid, 2, 3, 1_000, "EUR", 1))
            expected.append(R.EXCEEDS_CREDITS)
        elif i % 19 == 0:
            batch.append(Transfer(tid, 1, 3, 0, "EUR", 1))
            expected.append(R.AMOUNT_MUST_BE_POSITIVE)
        else:
            batch.append(Transfer(tid, 1, 3 + i % 2, 1 + i % 3, "EUR", 1))
            expected.append(R.OK)

    assert ledger.create_transfers(batch) == expected

    applied = [t for t, r in zip(batch, expected, strict=True) if r is R.OK]
    stored = ledger.lookup_transfers([t.id for t in batch])
    assert sorted((t.id, t.debit_account_id, t.credit_account_id, t.amount) for t in stored) == sorted(
        (t.id, t.debit_account_id, t.credit_account_id, t.amount) for t in applied
    )
    source, wallet, three, four = ledger.lookup_accounts([1, 2, 3, 4])
    assert source.debits_posted == 100 + sum(t.amount for t in applied)
    assert three.credits_posted + four.credits_posted == sum(t.amount for t in applied)
    assert (wallet.debits_posted, wallet.credits_posted) == (0, 100)

    # Sent again: applied ones exist, state failures are final, refusals and failed
    # chain members left their ids free.
    again = ledger.create_transfers(batch)
    for sent, first, second in zip(batch, expected, again, strict=True):
        if first is R.OK:
            assert second is R.EXISTS, sent
        elif first is R.EXCEEDS_CREDITS:
            assert second is R.ID_ALREADY_FAILED, sent
    freed = [
        t
        for t, r in zip(batch, expected, strict=True)
        if r in (R.AMOUNT_MUST_BE_POSITIVE, R.LINKED_EVENT_FAILED)
    ]
    assert ledger.create_transfers([Transfer(t.id, 1, 4, 1, "EUR", 1) for t in freed]) == [R.OK] * len(freed)
    assert check_ledger(ledger.engine) == []
