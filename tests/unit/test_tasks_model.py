"""Task rules without a database: money per slot, the ledger chains, states, reputation
and fair pay."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.ledger import TransferFlags
from obolo.settings import FeeRule
from obolo.tasks.errors import InvalidTask
from obolo.tasks.model import (
    TRANSITIONS,
    Accounts,
    AssignmentStatus,
    Pricing,
    ReviewRecord,
    Terms,
    approval_transfers,
    can_move,
    check_terms,
    direct_transfers,
    fair_pay,
    hold_transfers,
    price,
    qualifies,
    reputation,
)
from obolo.tasks.model import TransferCode as Code

S = AssignmentStatus
NS = 1_000_000_000
DAY = 86_400
ACCOUNTS = Accounts("EUR", employer_wallet=1, escrow=2, revenue=3)
rules = st.builds(FeeRule, st.integers(0, 10_000), st.integers(0, 1_000_000))


@given(st.integers(1, 10**12), rules, rules)
def test_an_assignments_money_adds_up_exactly(reward, employer_fee, payout_fee):
    """Whatever the fees, worker's pay plus platform's revenue is exactly what was held."""
    pricing = price(reward, employer_fee, payout_fee)
    assert pricing.payout + pricing.revenue == pricing.hold == reward + pricing.fee
    assert 0 <= pricing.payout_fee <= reward
    assert 0 <= pricing.fee <= reward


def test_fees_round_half_to_even_per_slot():
    """10% of 0.000005 is half a unit: rounded to even (0), the same on every slot."""
    assert price(5, FeeRule(1000, 0), FeeRule()).fee == 0
    assert price(15, FeeRule(1000, 0), FeeRule()).fee == 2
    assert price(500_000, FeeRule(1000, 0), FeeRule(500, 0)) == Pricing(500_000, 50_000, 25_000)


def test_holds_are_one_linked_chain_of_pending_transfers():
    """Posting funds every slot or none: all pending, linked up to the last."""
    chain = hold_transfers([10, 11, 12], ACCOUNTS, Pricing(100, 10, 5))
    assert [t.amount for t in chain] == [110, 110, 110]
    assert all(t.flags & TransferFlags.PENDING for t in chain)
    assert [bool(t.flags & TransferFlags.LINKED) for t in chain] == [True, True, False]
    assert {(t.debit_account_id, t.credit_account_id) for t in chain} == {(1, 2)}


def test_approval_posts_the_hold_and_pays_out_of_escrow_in_one_chain():
    """Post the hold, escrow to worker, escrow to revenue: linked, the last closes the chain."""
    post, pay, fee = approval_transfers((7, 8, 9), 99, 50, ACCOUNTS, Pricing(100, 10, 5))
    assert post.pending_id == 99
    assert post.flags == TransferFlags.POST_PENDING_TRANSFER | TransferFlags.LINKED
    assert (pay.debit_account_id, pay.credit_account_id, pay.amount, pay.code) == (
        2,
        50,
        95,
        Code.TASK_PAYOUT,
    )
    assert (fee.debit_account_id, fee.credit_account_id, fee.amount) == (2, 3, 15)
    assert pay.flags == TransferFlags.LINKED
    assert fee.flags == TransferFlags.NONE


def test_without_fees_approval_has_no_fee_leg():
    """No fee, no zero-amount transfer (the ledger refuses those)."""
    chain = approval_transfers((7, 8, 9), 99, 50, ACCOUNTS, Pricing(100, 0, 0))
    assert [t.id for t in chain] == [7, 8]
    assert chain[-1].flags == TransferFlags.NONE
    assert direct_transfers((1, 2), 50, ACCOUNTS, 100, 0, Code.TASK_BONUS)[-1].flags == TransferFlags.NONE


def test_finished_slots_never_move_again():
    """Approved and released are final; submitted work cannot go back to being worked on;
    only a rejection can turn into an approval (an overturned dispute)."""
    assert TRANSITIONS[S.APPROVED] == TRANSITIONS[S.RELEASED] == frozenset()
    assert not can_move(S.SUBMITTED, S.ACCEPTED)
    assert not can_move(S.SUBMITTED, S.RELEASED)
    assert can_move(S.REJECTED, S.APPROVED)
    assert not can_move(S.REJECTED, S.RELEASED)


GOOD = Terms("Title", "Do it", reward=100, assignments=3, time_allowed_seconds=600, deadline=10 * NS)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"reward": 0}, "reward"),
        ({"assignments": 0}, "assignments"),
        ({"assignments": 2_001}, "assignments"),
        ({"time_allowed_seconds": 59}, "time_allowed_seconds"),
        ({"deadline": 0}, "deadline"),
        ({"auto_approve_seconds": -1}, "auto_approve_seconds"),
        ({"min_approval_rate_bp": 10_001}, "min_approval_rate_bp"),
    ],
)
def test_bad_terms_name_the_field(change, field):
    """Each broken term is refused with invalid_task and the field it concerns."""
    check_terms(GOOD, now=0)
    with pytest.raises(InvalidTask) as refused:
        check_terms(replace(GOOD, **change), now=0)
    assert refused.value.code == "invalid_task"
    assert refused.value.data["field"] == field


@given(st.integers(0, 50), st.integers(0, 200), st.integers(1, 5))
def test_one_employers_rejections_lower_the_rate_by_a_bounded_amount(approved, rejections, cap):
    """Inside the dispute window, however many rejections one employer makes, the rate is
    at least approved / (approved + cap); after the window, every rejection counts."""
    records = [ReviewRecord("good", True, 0) for _ in range(approved)]
    records += [ReviewRecord("harsh", False, 100 * NS) for _ in range(rejections)]
    now = 200 * NS
    inside = reputation(records, now, DAY, cap)
    assert inside.counted_rejections == min(rejections, cap)
    if approved:
        assert inside.rate_bp is not None
        assert inside.rate_bp * (approved + cap) >= approved * 10_000 - (approved + cap)
    after = reputation(records, now + DAY * NS, DAY, cap)
    assert after.counted_rejections == rejections


def test_an_upheld_rejection_counts_in_full_at_once():
    """A decided dispute ends the grace: the rejection counts without waiting."""
    records = [ReviewRecord("a", False, 0, final=True), ReviewRecord("a", False, 0, final=True)]
    assert reputation(records, 1, DAY, cap_per_employer=1).counted_rejections == 2


def test_newcomers_meet_rate_bars_but_not_counts():
    """Nobody reviewed yet has no rate to fall short of; a minimum approved count stops them."""
    fresh = reputation([], 0, DAY, 3)
    assert fresh.rate_bp is None
    assert qualifies(fresh, 9_500, 0)
    assert not qualifies(fresh, 0, 1)


def test_fair_pay_waits_for_enough_answers_then_suggests_the_missing_bonus():
    """3.00/h against a 6.00/h minimum: below, and 0.10 more per assignment reaches it exactly."""
    assert fair_pay(100_000, [120], 2, 6_000_000).hourly is None
    pay = fair_pay(100_000, [120, 120], 2, 6_000_000)
    assert (pay.hourly, pay.below_minimum, pay.bonus_to_reach_minimum) == (3_000_000, True, 100_000)
    assert not fair_pay(200_000, [120, 120], 2, 6_000_000).below_minimum
    assert not fair_pay(100_000, [120, 120], 2, 0).below_minimum


@given(
    st.integers(1, 10**7), st.lists(st.integers(1, 7 * DAY), min_size=1, max_size=20), st.integers(1, 10**8)
)
def test_the_suggested_bonus_always_reaches_the_minimum(payout, seconds, minimum):
    """Paying the suggested bonus per assignment lifts the task to the minimum rate."""
    pay = fair_pay(payout, seconds, 1, minimum)
    if pay.below_minimum:
        assert pay.bonus_to_reach_minimum is not None
        lifted = fair_pay(payout + pay.bonus_to_reach_minimum, seconds, 1, minimum)
        assert lifted.hourly is not None
        assert lifted.hourly >= minimum
