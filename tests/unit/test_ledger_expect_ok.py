"""`expect_ok`: the one check that every result of a batch a use case needs is done."""

from __future__ import annotations

import pytest

from obolo.ledger import AccountResult, LedgerError, LedgerRefused, TransferResult, expect_ok

R = TransferResult


def test_done_results_pass_and_a_retry_counts_as_done():
    """OK and EXISTS (the same ids sent again) are done, for transfers and accounts alike."""
    expect_ok([R.OK, R.EXISTS], "holds")
    expect_ok([AccountResult.OK, AccountResult.EXISTS], "accounts")
    expect_ok([], "nothing")


def test_any_other_result_refuses_the_whole_batch_naming_only_the_refused():
    """One refused item raises LedgerRefused (a LedgerError and a RuntimeError), naming what failed."""
    with pytest.raises(LedgerRefused) as refused:
        expect_ok([R.OK, R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED], "holds of task 7")
    assert refused.value.refused == [R.EXCEEDS_CREDITS, R.LINKED_EVENT_FAILED]
    assert refused.value.code == "ledger_refused"
    assert str(refused.value) == "holds of task 7: the ledger refused (exceeds_credits, linked_event_failed)"
    assert isinstance(refused.value, LedgerError)
    assert isinstance(refused.value, RuntimeError)


def test_a_first_time_only_batch_refuses_exists_and_also_admits_named_results():
    """`retry_ok=False` refuses EXISTS; `also` admits results a use case answers itself."""
    with pytest.raises(LedgerRefused):
        expect_ok([AccountResult.EXISTS], "escrow", retry_ok=False)
    expect_ok([R.OK, R.PENDING_EXPIRED], "tab", also={R.PENDING_EXPIRED})
