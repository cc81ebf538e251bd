"""Reconciliation rules, line by line: each kind of disagreement is named once, and lines
outside the period only vouch for the books."""

from __future__ import annotations

from obolo.adapters.reports import ExternalRecord
from obolo.settlement.model import BookEntry, BookState, MismatchKind, reconcile_charges, reconcile_payouts

PERIOD = (100, 200)


def line(key, amount=1_000, succeeded=True, at=150, asset="EUR"):
    return ExternalRecord(f"x-{key}", key, amount, asset, succeeded, at)


def book(key, state, amount=1_000, asset="EUR"):
    return {key: BookEntry(key, amount, asset, state)}


def test_agreeing_lines_give_nothing():
    """A credited charge and a posted payout of the same amount and asset agree."""
    assert reconcile_charges([line("a")], book("a", BookState.CREDITED), PERIOD) == []
    assert reconcile_payouts([line("b")], book("b", BookState.POSTED), PERIOD) == []
    assert reconcile_payouts([line("c", succeeded=False)], book("c", BookState.VOIDED), PERIOD) == []


def test_each_disagreement_is_named():
    """Amount, asset, declined-but-credited, failed-but-posted: one mismatch each."""
    cases = [
        (reconcile_charges([line("a", amount=999)], book("a", BookState.CREDITED), PERIOD), "amount_differs"),
        (
            reconcile_charges([line("a", asset="USD")], book("a", BookState.CREDITED), PERIOD),
            "amount_differs",
        ),
        (
            reconcile_charges([line("a", succeeded=False)], book("a", BookState.CREDITED), PERIOD),
            "declined_but_credited",
        ),
        (
            reconcile_payouts([line("b", succeeded=False)], book("b", BookState.POSTED), PERIOD),
            "failed_but_posted",
        ),
        (reconcile_payouts([line("b")], book("b", BookState.VOIDED), PERIOD), "paid_not_posted"),
        (reconcile_payouts([], book("b", BookState.POSTED), PERIOD), "posted_not_paid"),
    ]
    assert [[m.kind for m in found] for found, _ in cases] == [[MismatchKind(kind)] for _, kind in cases]


def test_lines_beyond_the_period_vouch_but_are_not_judged():
    """A charge just before the period credits a top-up inside it; an unknown charge just
    after it is left to its own period."""
    report = [line("early", at=99), line("late-unknown", at=200)]
    assert reconcile_charges(report, book("early", BookState.CREDITED), PERIOD) == []
