"""Every result code the ledger can answer, each proving that nothing moved when it
refuses; plus the behaviours around them (retries, partial posts, expiry, reads)."""

from __future__ import annotations

import uuid

import pytest

from obolo.ledger import (
    Account,
    AccountFlags,
    AccountResult,
    BatchTooLarge,
    InvalidInput,
    PendingStatus,
    Transfer,
    TransferFlags,
    TransferResult,
)
from obolo.ledger.check import check_ledger
from obolo.money import INT64_MAX

F = TransferFlags
R = TransferResult
WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
LIABILITY = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
# Accounts: 1 source (no limits), 2 wallet, 3 liability, 4 USD, 5 closed, 6 and 7 free.
# Transfers: 10 funds the wallet with 100; 20 is a 50 hold; 21 posted, 22 voided, 23 expired.


@pytest.fixture
def books(ledger, clock):
    assert (
        ledger.create_accounts(
            [
                Account(1, "EUR", 1),
                Account(2, "EUR", 10, WALLET),
                Account(3, "EUR", 11, LIABILITY),
                Account(4, "USD", 1),
                Account(5, "EUR", 1),
                Account(6, "EUR", 1),
                Account(7, "EUR", 1),
            ]
        )
        == [AccountResult.OK] * 7
    )
    assert ledger.close_accounts([5]) == ["ok"]
    setup = [
        Transfer(10, 1, 2, 100, "EUR", 1),
        Transfer(20, 2, 1, 50, "EUR", 1, flags=F.PENDING, timeout=3600),
        Transfer(11, 1, 6, 40, "EUR", 1, flags=F.PENDING),
        Transfer(12, 1, 6, 40, "EUR", 1, flags=F.PENDING),
        Transfer(13, 1, 6, 40, "EUR", 1, flags=F.PENDING, timeout=1),
        Transfer(21, pending_id=11, flags=F.POST_PENDING_TRANSFER),
        Transfer(22, pending_id=12, flags=F.VOID_PENDING_TRANSFER),
    ]
    assert ledger.create_transfers(setup) == [R.OK] * len(setup)
    clock.advance(2)
    assert ledger.expire_pending() == 1
    return ledger


def totals(ledger):
    return [
        (a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
        for a in ledger.lookup_accounts(range(1, 8))
    ]


BIG = INT64_MAX - 10
CASES = [
    ("id_must_not_be_zero", [Transfer(0, 1, 6, 1, "EUR", 1)]),
    ("id_out_of_range", [Transfer(-5, 1, 6, 1, "EUR", 1)]),
    ("id_out_of_range", [Transfer(2**128, 1, 6, 1, "EUR", 1)]),
    ("exists_with_different_fields", [Transfer(10, 1, 2, 101, "EUR", 1)]),
    (
        "flags_are_mutually_exclusive",
        [Transfer(100, 1, 6, 1, "EUR", 1, flags=F.PENDING | F.POST_PENDING_TRANSFER)],
    ),
    (
        "flags_are_mutually_exclusive",
        [Transfer(100, pending_id=20, flags=F.VOID_PENDING_TRANSFER | F.BALANCING_DEBIT)],
    ),
    ("account_id_required", [Transfer(100, None, 6, 1, "EUR", 1)]),
    ("same_account", [Transfer(100, 6, 6, 1, "EUR", 1)]),
    ("amount_must_be_positive", [Transfer(100, 1, 6, 0, "EUR", 1)]),
    ("amount_must_be_positive", [Transfer(100, 1, 6, -1, "EUR", 1)]),
    ("amount_must_be_positive", [Transfer(100, 1, 6, None, "EUR", 1)]),
    ("asset_required", [Transfer(100, 1, 6, 1, None, 1)]),
    ("code_out_of_range", [Transfer(100, 1, 6, 1, "EUR", -1)]),
    ("metadata_invalid", [Transfer(100, 1, 6, 1, "EUR", 1, metadata={"k": "x" * 600})]),
    ("pending_id_required", [Transfer(100, flags=F.POST_PENDING_TRANSFER)]),
    ("pending_id_must_be_different", [Transfer(100, pending_id=100, flags=F.VOID_PENDING_TRANSFER)]),
    ("pending_id_not_allowed", [Transfer(100, 1, 6, 1, "EUR", 1, pending_id=20)]),
    ("timeout_reserved_for_pending_transfer", [Transfer(100, 1, 6, 1, "EUR", 1, timeout=5)]),
    ("timeout_out_of_range", [Transfer(100, 1, 6, 1, "EUR", 1, flags=F.PENDING, timeout=2**40)]),
    ("account_not_found", [Transfer(100, 1, 99, 1, "EUR", 1)]),
    ("asset_mismatch", [Transfer(100, 1, 4, 1, "EUR", 1)]),
    ("asset_mismatch", [Transfer(100, 1, 6, 1, "USD", 1)]),
    ("account_closed", [Transfer(100, 1, 5, 1, "EUR", 1)]),
    ("exceeds_credits", [Transfer(100, 2, 6, 51, "EUR", 1)]),  # 100 in, 50 held
    ("exceeds_debits", [Transfer(100, 1, 3, 1, "EUR", 1)]),
    ("exceeds_credits", [Transfer(100, 7, 1, 10, "EUR", 1, flags=F.BALANCING_DEBIT)]),  # nothing to give
    ("exceeds_debits", [Transfer(100, 1, 3, 10, "EUR", 1, flags=F.BALANCING_CREDIT)]),
    ("overflows_debits", [Transfer(100, 1, 6, INT64_MAX, "EUR", 1)]),
    ("overflows_debits", [Transfer(100, 1, 6, 2**70, "EUR", 1)]),
    ("pending_not_found", [Transfer(100, pending_id=999, flags=F.POST_PENDING_TRANSFER)]),
    ("pending_not_pending", [Transfer(100, pending_id=10, flags=F.POST_PENDING_TRANSFER)]),
    ("pending_already_posted", [Transfer(100, pending_id=11, flags=F.VOID_PENDING_TRANSFER)]),
    ("pending_already_voided", [Transfer(100, pending_id=12, flags=F.POST_PENDING_TRANSFER)]),
    ("pending_expired", [Transfer(100, pending_id=13, flags=F.POST_PENDING_TRANSFER)]),
    ("pending_has_different_accounts", [Transfer(100, 1, 2, pending_id=20, flags=F.POST_PENDING_TRANSFER)]),
    (
        "pending_has_different_asset",
        [Transfer(100, asset="USD", pending_id=20, flags=F.POST_PENDING_TRANSFER)],
    ),
    ("pending_has_different_code", [Transfer(100, code=9, pending_id=20, flags=F.POST_PENDING_TRANSFER)]),
    ("pending_has_different_amount", [Transfer(100, amount=5, pending_id=20, flags=F.VOID_PENDING_TRANSFER)]),
    ("exceeds_pending_amount", [Transfer(100, amount=51, pending_id=20, flags=F.POST_PENDING_TRANSFER)]),
]


@pytest.mark.parametrize(("code", "batch"), CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CASES)])
def test_every_refusal_has_its_code_and_moves_nothing(books, code, batch):
    """The refusal is named, and not one account total changes."""
    before = totals(books)
    assert books.create_transfers(batch) == [code]
    assert totals(books) == before
    assert books.lookup_transfers([100]) == []
    assert check_ledger(books.engine) == []


def test_overflow_of_the_credit_side(books):
    """A credit that would leave signed 64 bits is overflows_credits, nothing moved."""
    assert books.create_accounts([Account(8, "EUR", 1), Account(9, "EUR", 1)]) == ["ok", "ok"]
    assert books.create_transfers([Transfer(100, 8, 9, BIG, "EUR", 1)]) == [R.OK]
    before = books.lookup_accounts([6, 9])
    assert books.create_transfers([Transfer(101, 6, 9, 11, "EUR", 1)]) == [R.OVERFLOWS_CREDITS]
    assert books.lookup_accounts([6, 9]) == before


def test_linked_chain_failures_undo_the_whole_chain(books):
    """One failing member: its own code, the rest linked_event_failed, nothing moved."""
    before = totals(books)
    chain = [
        Transfer(100, 1, 6, 5, "EUR", 1, flags=F.LINKED),
        Transfer(101, 2, 6, 500, "EUR", 1, flags=F.LINKED),
        Transfer(102, 1, 7, 5, "EUR", 1),
    ]
    assert books.create_transfers(chain) == [R.LINKED_EVENT_FAILED, R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED]
    assert books.create_transfers([Transfer(103, 1, 6, 5, "EUR", 1, flags=F.LINKED)]) == [
        R.LINKED_EVENT_CHAIN_OPEN
    ]
    assert totals(books) == before


def test_a_retry_answers_exists_and_moves_nothing(books):
    """The id is the idempotency key: the same transfer again is `exists`."""
    before = totals(books)
    assert books.create_transfers([Transfer(10, 1, 2, 100, "EUR", 1)]) == [R.EXISTS]
    assert totals(books) == before


def test_a_state_failure_is_final_even_after_funds_arrive(books):
    """exceeds_credits is remembered: the retry is id_already_failed, never a late payment."""
    assert books.create_transfers([Transfer(100, 2, 6, 80, "EUR", 1)]) == [R.EXCEEDS_CREDITS]
    assert books.create_transfers([Transfer(101, 1, 2, 1000, "EUR", 1)]) == [R.OK]
    before = totals(books)
    assert books.create_transfers([Transfer(100, 2, 6, 80, "EUR", 1)]) == [R.ID_ALREADY_FAILED]
    assert totals(books) == before


def test_whole_batch_refusals_raise_and_move_nothing(books):
    """Too many items, or a float amount or text id, refuses the whole batch."""
    before = totals(books)
    with pytest.raises(BatchTooLarge):
        books.create_transfers([Transfer(1000 + i, 1, 6, 1, "EUR", 1) for i in range(8_001)])
    with pytest.raises(InvalidInput):
        books.create_transfers([Transfer(100, 1, 6, 1, "EUR", 1), Transfer(101, 1, 6, 1.5, "EUR", 1)])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        books.create_transfers([Transfer("101", 1, 6, 1, "EUR", 1)])  # type: ignore[arg-type]
    assert totals(books) == before


def test_partial_post_releases_the_rest(books):
    """Posting 30 of a 50 hold moves 30 and frees the other 20."""
    assert books.create_transfers(
        [Transfer(100, amount=30, pending_id=20, flags=F.POST_PENDING_TRANSFER)]
    ) == [R.OK]
    wallet = books.lookup_accounts([2])[0]
    assert (wallet.debits_posted, wallet.debits_pending, wallet.available) == (30, 0, 70)


def test_balancing_moves_what_is_there(books):
    """A balancing debit of 1,000 from a wallet with 50 free moves exactly 50."""
    assert books.create_transfers([Transfer(100, 2, 6, 1_000, "EUR", 1, flags=F.BALANCING_DEBIT)]) == [R.OK]
    assert books.lookup_transfers([100])[0].amount == 50
    assert books.lookup_accounts([2])[0].available == 0


def test_expired_holds_free_their_funds_when_the_account_is_touched(books, clock):
    """After its timeout, a hold no longer blocks spending, without any sweep."""
    assert books.create_transfers([Transfer(100, 2, 6, 60, "EUR", 1)]) == [R.EXCEEDS_CREDITS]
    clock.advance(3601)
    assert books.create_transfers([Transfer(101, 2, 6, 60, "EUR", 1)]) == [R.OK]
    assert books.pending_status(20) is PendingStatus.EXPIRED


def test_account_results(books):
    """Accounts answer ok, exists, exists_with_different_fields and their refusals."""
    results = books.create_accounts(
        [
            Account(8, "EUR", 1),
            Account(8, "EUR", 1),
            Account(1, "EUR", 2),
            Account(0, "EUR", 1),
            Account(9, "EUR", 1, WALLET | LIABILITY),
            Account(10, "XYZ", 1),
            Account(11, "EUR", -1),
        ]
    )
    assert results == [
        "ok",
        "exists",
        "exists_with_different_fields",
        "id_must_not_be_zero",
        "flags_are_mutually_exclusive",
        "unknown_asset",
        "code_out_of_range",
    ]


def test_uuid_ids_are_accepted(books):
    """UUIDs work as ids for accounts and transfers."""
    account, transfer = uuid.uuid4(), uuid.uuid4()
    assert books.create_accounts([Account(account, "EUR", 1)]) == ["ok"]
    assert books.create_transfers([Transfer(transfer, 1, account, 5, "EUR", 1)]) == [R.OK]
    assert books.lookup_accounts([account])[0].credits_posted == 5


def test_history_pages_and_balances_end_at_the_totals(books):
    """account_transfers pages by timestamp; the last balance equals the account's totals."""
    first = books.account_transfers(6, limit=2)
    rest = books.account_transfers(6, after=first[-1].timestamp, limit=10)
    newest = books.account_transfers(6, newest_first=True, limit=10)
    assert [t.id for t in first + rest] == [t.id for t in reversed(newest)]
    balances = books.account_balances(6)
    account = books.lookup_accounts([6])[0]
    last = balances[-1]
    assert (last.debits_posted, last.credits_posted, last.debits_pending, last.credits_pending) == (
        account.debits_posted,
        account.credits_posted,
        account.debits_pending,
        account.credits_pending,
    )
