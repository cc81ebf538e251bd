"""Microtasks: money held in escrow per assignment before anyone works, paid at approval,
released at rejection and cancel, silence approves; every refusal moves nothing."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import event, func, insert, select

from obolo.adapters.cards import Card
from obolo.adapters.db.schema import pending_transfers, users
from obolo.adapters.db.schema_tasks import task_assignments, tasks
from obolo.adapters.ids import new_id
from obolo.bootstrap import build
from obolo.entrypoints.workers import run_once
from obolo.ledger import LedgerSession
from obolo.ledger.check import check_ledger
from obolo.money import EUR, Amount
from obolo.settings import FeeRule, Settings
from obolo.tasks.errors import (
    AlreadySubmitted,
    AlreadyTookPart,
    AssignmentExpired,
    BonusNotAllowed,
    DisputeDecided,
    DisputeNotAllowed,
    EmployerCannotPay,
    NoAssignmentLeft,
    NotQualified,
    NotReviewable,
    NotTheEmployer,
    OwnTask,
    ReasonRequired,
    TaskNotOpen,
)
from obolo.tasks.model import AccountCode, AssignmentStatus, Terms
from obolo.tasks.service import Decision
from obolo.wallets.errors import InsufficientFunds
from obolo.wallets.model import PlatformAccount
from tests.factories import make_user

HOUR = 3600
# 10% on top for the employer, 5% taken from the reward: 0.50 → hold 0.55, worker 0.475.
SETTINGS = Settings(task_fee=FeeRule(1000, 0), task_payout_fee=FeeRule(500, 0))
CARD = Card("4242424242424242", 12, 2031, "123")


def eur(text: str) -> Amount:
    return Amount.parse(text, EUR)


def units(text: str) -> int:
    return eur(text).units


def task_books(platform) -> list[str]:
    """The product's own invariants, beside the ledger's: each slot's hold is pending while
    the slot is open, taken or submitted, posted once it was approved, voided once
    rejected or released (an overturned rejection is paid by a fresh transfer, its hold
    stays voided); each escrow holds exactly its live slots and keeps nothing posted."""
    expected = {"open": 1, "accepted": 1, "submitted": 1, "approved": 2, "rejected": 3, "released": 3}
    problems = []
    with platform.engine.connect() as connection:
        slots = connection.execute(
            select(task_assignments.c.id, task_assignments.c.task_id, task_assignments.c.status,
                   task_assignments.c.reviewed_by, pending_transfers.c.status.label("hold"))
            .join(pending_transfers, pending_transfers.c.id == task_assignments.c.hold_id, isouter=True)
        ).all()  # fmt: skip
        rows = connection.execute(select(tasks)).all()
    for slot in slots:
        want = 3 if slot.reviewed_by == "operator" else expected[slot.status]
        if slot.hold != want:
            problems.append(f"slot {slot.id} {slot.status}: hold status {slot.hold}")
    for task in rows:
        live = sum(1 for s in slots if s.hold == 1 and s.task_id == task.id)
        escrow = platform.ledger.lookup_accounts([int.from_bytes(task.escrow_account_id, "big")])[0]
        if (escrow.credits_pending, escrow.balance) != (live * (task.reward + task.fee), 0):
            problems.append(f"task {task.id}: escrow {escrow}")
    return problems


@pytest.fixture
def platform(db_url, clock):
    built = build(SETTINGS, url=db_url, clock=clock, migrate=True)
    yield built
    assert check_ledger(built.engine) == []
    assert task_books(built) == []
    built.close()


def person(platform, name: str, top_up: str | None = None) -> str:
    user_id = make_user(platform.engine, f"{name}@example.com")
    if top_up:
        platform.wallets.top_up(user_id, eur(top_up), CARD)
    return user_id


def balance(platform, user_id) -> tuple[int, int]:
    """(available, reserved) of the user's EUR wallet."""
    for b in platform.wallets.balances(user_id):
        if b.asset == "EUR":
            return b.available, b.reserved
    return 0, 0


def revenue(platform) -> int:
    (account,) = platform.ledger.lookup_accounts([PlatformAccount.FEE_REVENUE.account_id("EUR")])
    return account.balance


def terms(clock, *, reward="0.50", n=3, allowed=600, auto=72 * HOUR, **more) -> Terms:
    return Terms(
        title="Label an image",
        instructions="Is there a cat? yes/no",
        reward=units(reward),
        assignments=n,
        time_allowed_seconds=allowed,
        deadline=clock() + 24 * HOUR * 1_000_000_000,
        auto_approve_seconds=auto,
        **more,
    )


def snapshot(platform, *people) -> tuple:
    """Every balance that could move, and how many transfers the ledger holds."""
    with platform.engine.connect() as connection:
        transfers = connection.exec_driver_sql("SELECT COUNT(*) FROM ledger_transfers").scalar()
    return (*tuple(balance(platform, p) for p in people), revenue(platform), transfers)


def work(platform, clock, worker, task_id, seconds=60, answer="yes"):
    taken = platform.tasks.accept(worker, task_id)
    clock.advance(seconds)
    return platform.tasks.submit(worker, taken.id, answer)


def escrow_of(platform, task_id):
    with platform.engine.connect() as connection:
        raw = connection.execute(select(tasks.c.escrow_account_id).where(tasks.c.id == task_id)).scalar_one()
    (account,) = platform.ledger.lookup_accounts([int.from_bytes(raw, "big")])
    return account


def test_full_life_of_a_task_with_three_workers(platform, clock):
    """Approve pays at once less the fee, reject releases, silence approves after the delay;
    every balance is exact and the escrow ends empty."""
    employer = person(platform, "employer", "10.00")
    w1, w2, w3 = (person(platform, f"w{n}") for n in (1, 2, 3))
    task = platform.tasks.post_task(employer, terms(clock), "EUR")
    assert (task.pricing.hold, task.pricing.payout, task.pricing.revenue) == (550_000, 475_000, 75_000)
    assert balance(platform, employer) == (units("8.35"), units("1.65"))

    a1 = work(platform, clock, w1, task.id, seconds=90)
    a2 = work(platform, clock, w2, task.id)
    work(platform, clock, w3, task.id)
    assert a1.seconds_spent == 90

    done = platform.tasks.review(
        employer, task.id, [Decision(a1.id, True), Decision(a2.id, False, "not what was asked")]
    )
    assert [a.status for a in done] == [AssignmentStatus.APPROVED, AssignmentStatus.REJECTED]
    assert balance(platform, w1) == (475_000, 0)
    assert balance(platform, w2) == (0, 0)
    assert balance(platform, employer) == (units("8.90"), units("0.55"))
    assert revenue(platform) == 75_000

    clock.advance(72 * HOUR - 10)
    with httpx.Client() as client:
        assert run_once(platform, client)["tasks_auto_approve"] == 0
        clock.advance(10)
        assert run_once(platform, client)["tasks_auto_approve"] == 1
    assert balance(platform, w3) == (475_000, 0)
    assert balance(platform, employer) == (units("8.90"), 0)
    assert revenue(platform) == 150_000
    # What left the employer is exactly what the workers and the platform received.
    assert units("10.00") - units("8.90") == 475_000 * 2 + 150_000
    escrow = escrow_of(platform, task.id)
    assert (escrow.balance, escrow.debits_pending, escrow.credits_pending) == (0, 0, 0)
    assert escrow.code == AccountCode.TASK_ESCROW
    view = platform.tasks.task(task.id)
    assert view.counts == {"approved": 2, "rejected": 1}
    assert view.held == 0
    record = platform.tasks.worker_record(w3)
    assert record.earned == {"EUR": 475_000}
    assert record.reputation.rate_bp == 10_000


def test_cancel_releases_free_slots_and_work_in_flight_still_finishes(platform, clock):
    """Cancel gives back slots nobody took; a worker mid-assignment may still submit;
    submitted work is still reviewed or auto-approved; a timed-out slot is released."""
    employer = person(platform, "employer", "10.00")
    w1, w2, w3, late = (person(platform, n) for n in ("w1", "w2", "w3", "late"))
    task = platform.tasks.post_task(employer, terms(clock, n=5, auto=HOUR), "EUR")
    submitted = work(platform, clock, w1, task.id)
    in_progress = platform.tasks.accept(w2, task.id)
    abandoned = platform.tasks.accept(w3, task.id)

    cancelled = platform.tasks.cancel(employer, task.id)
    assert cancelled.counts == {"submitted": 1, "accepted": 2, "released": 2}
    assert balance(platform, employer) == (units("10.00") - 3 * 550_000, 3 * 550_000)
    with pytest.raises(TaskNotOpen):
        platform.tasks.accept(late, task.id)

    clock.advance(60)
    platform.tasks.submit(w2, in_progress.id, "no")
    platform.tasks.review(employer, task.id, [Decision(submitted.id, True)])
    clock.advance(HOUR)
    assert platform.tasks.auto_approve_due() == 1  # w2's answer, by silence
    clock.advance(600)
    assert platform.tasks.release_expired() == 1  # w3 never answered
    with pytest.raises(AssignmentExpired):
        platform.tasks.submit(w3, abandoned.id, "too late")
    assert balance(platform, w1) == balance(platform, w2) == (475_000, 0)
    assert balance(platform, employer) == (units("10.00") - 2 * 550_000, 0)
    before = snapshot(platform, employer, w1, w2)
    with pytest.raises(TaskNotOpen) as refused:
        platform.tasks.cancel(employer, task.id)
    assert refused.value.code == "task_not_open"
    assert snapshot(platform, employer, w1, w2) == before


def test_an_employer_who_cannot_afford_the_holds_is_refused_before_anything_exists(platform, clock):
    """1.65 of holds on a 1.00 wallet: insufficient_funds, no task, no escrow, no transfer."""
    employer = person(platform, "employer", "1.00")
    with platform.engine.connect() as connection:
        accounts_before = connection.exec_driver_sql("SELECT COUNT(*) FROM ledger_accounts").scalar()
    before = snapshot(platform, employer)
    with pytest.raises(InsufficientFunds) as refused:
        platform.tasks.post_task(employer, terms(clock), "EUR")
    assert refused.value.code == "insufficient_funds"
    assert refused.value.data["needed"] == "1.650000"
    assert snapshot(platform, employer) == before
    with platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(tasks)).scalar() == 0
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM ledger_accounts").scalar() == accounts_before


def test_posting_twice_with_one_key_holds_once(platform, clock):
    """The same idempotency key gives back the same task and holds the money once."""
    employer = person(platform, "employer", "10.00")
    first = platform.tasks.post_task(employer, terms(clock), "EUR", idempotency_key="t-1")
    again = platform.tasks.post_task(employer, terms(clock), "EUR", idempotency_key="t-1")
    assert first.id == again.id
    assert balance(platform, employer) == (units("8.35"), units("1.65"))


def test_a_worker_cannot_submit_twice_nor_after_expiry(platform, clock):
    """A second answer is already_submitted; an answer after the time allowed is
    assignment_expired; neither moves money."""
    employer = person(platform, "employer", "10.00")
    w1, w2 = person(platform, "w1"), person(platform, "w2")
    task = platform.tasks.post_task(employer, terms(clock, allowed=300), "EUR")
    done = work(platform, clock, w1, task.id)
    late = platform.tasks.accept(w2, task.id)
    clock.advance(301)
    before = snapshot(platform, employer, w1, w2)
    with pytest.raises(AlreadySubmitted) as twice:
        platform.tasks.submit(w1, done.id, "again")
    with pytest.raises(AssignmentExpired) as expired:
        platform.tasks.submit(w2, late.id, "late")
    assert (twice.value.code, expired.value.code) == ("already_submitted", "assignment_expired")
    assert snapshot(platform, employer, w1, w2) == before
    assert platform.tasks.assignment(w1, done.id).answer == "yes"


def test_nobody_approves_their_own_work(platform, clock):
    """A worker cannot review (not_the_employer) and an employer cannot take their own
    task (own_task); nothing moves."""
    employer = person(platform, "employer", "10.00")
    w1 = person(platform, "w1", "1.00")
    task = platform.tasks.post_task(employer, terms(clock), "EUR")
    mine = work(platform, clock, w1, task.id)
    before = snapshot(platform, employer, w1)
    with pytest.raises(NotTheEmployer) as reviewing:
        platform.tasks.review(w1, task.id, [Decision(mine.id, True)])
    with pytest.raises(OwnTask) as taking:
        platform.tasks.accept(employer, task.id)
    assert (reviewing.value.code, taking.value.code) == ("not_the_employer", "own_task")
    assert snapshot(platform, employer, w1) == before


def test_a_review_is_all_or_nothing(platform, clock):
    """One item not yet submitted refuses the whole review (not_reviewable); a rejection
    without a reason is reason_required; no money moves."""
    employer = person(platform, "employer", "10.00")
    w1, w2 = person(platform, "w1"), person(platform, "w2")
    task = platform.tasks.post_task(employer, terms(clock), "EUR")
    ready = work(platform, clock, w1, task.id)
    busy = platform.tasks.accept(w2, task.id)
    before = snapshot(platform, employer, w1, w2)
    with pytest.raises(NotReviewable) as mixed:
        platform.tasks.review(employer, task.id, [Decision(ready.id, True), Decision(busy.id, True)])
    with pytest.raises(ReasonRequired) as bare:
        platform.tasks.review(employer, task.id, [Decision(ready.id, False, "  ")])
    assert (mixed.value.code, bare.value.code) == ("not_reviewable", "reason_required")
    assert mixed.value.data["assignment_ids"] == [busy.id]
    assert snapshot(platform, employer, w1, w2) == before
    assert platform.tasks.assignment(w1, ready.id).status == AssignmentStatus.SUBMITTED


def test_slots_are_limited_one_per_worker_and_come_back_after_the_time_allowed(platform, clock):
    """A full task answers no_assignment_left, a second take already_took_part; a slot
    whose worker ran out of time is free again."""
    employer = person(platform, "employer", "10.00")
    w1, w2 = person(platform, "w1"), person(platform, "w2")
    task = platform.tasks.post_task(employer, terms(clock, n=1, allowed=120), "EUR")
    platform.tasks.accept(w1, task.id)
    before = snapshot(platform, employer, w1, w2)
    with pytest.raises(AlreadyTookPart) as again:
        platform.tasks.accept(w1, task.id)
    with pytest.raises(NoAssignmentLeft) as full:
        platform.tasks.accept(w2, task.id)
    assert (again.value.code, full.value.code) == ("already_took_part", "no_assignment_left")
    assert snapshot(platform, employer, w1, w2) == before
    clock.advance(121)
    assert platform.tasks.release_expired() == 1
    assert platform.tasks.accept(w2, task.id).worker_id == w2
    assert balance(platform, employer) == (units("9.45"), units("0.55"))


def test_past_the_deadline_free_slots_go_back_to_the_employer(platform, clock):
    """At the deadline the task closes and the holds nobody used are released."""
    employer = person(platform, "employer", "10.00")
    w1 = person(platform, "w1")
    task = platform.tasks.post_task(employer, terms(clock), "EUR")
    work(platform, clock, w1, task.id)
    clock.advance(24 * HOUR)
    assert platform.tasks.release_expired() == 2
    view = platform.tasks.task(task.id)
    assert view.status == "closed"
    assert view.counts == {"submitted": 1, "released": 2}
    assert balance(platform, employer) == (units("9.45"), units("0.55"))


def test_qualification_keeps_out_workers_below_the_bar(platform, clock):
    """A task asking for approved work turns away a newcomer with not_qualified."""
    employer = person(platform, "employer", "10.00")
    newcomer = person(platform, "new")
    task = platform.tasks.post_task(employer, terms(clock, min_approved=1), "EUR")
    before = snapshot(platform, employer)
    with pytest.raises(NotQualified) as refused:
        platform.tasks.accept(newcomer, task.id)
    assert refused.value.code == "not_qualified"
    assert snapshot(platform, employer) == before
    assert platform.tasks.list_tasks(newcomer, qualified=True) == []
    assert [t.id for t in platform.tasks.list_tasks(newcomer)] == [task.id]


def test_bonus_pays_the_worker_and_the_fee_once(platform, clock):
    """A bonus moves amount to the worker and 10% on top to revenue; a retry with the
    key pays once; a bonus for untouched work or beyond the wallet is refused."""
    employer = person(platform, "employer", "2.00")
    w1, w2 = person(platform, "w1"), person(platform, "w2")
    task = platform.tasks.post_task(employer, terms(clock, n=2), "EUR")
    done = work(platform, clock, w1, task.id)
    platform.tasks.bonus(employer, done.id, eur("0.20"), "great", idempotency_key="b1")
    platform.tasks.bonus(employer, done.id, eur("0.20"), "great", idempotency_key="b1")
    assert balance(platform, w1) == (200_000, 0)
    assert revenue(platform) == 20_000
    assert balance(platform, employer) == (units("2.00") - 1_100_000 - 220_000, 1_100_000)
    untouched = platform.tasks.accept(w2, task.id)
    before = snapshot(platform, employer, w1, w2)
    with pytest.raises(BonusNotAllowed) as early:
        platform.tasks.bonus(employer, untouched.id, eur("0.10"))
    with pytest.raises(InsufficientFunds) as broke:
        platform.tasks.bonus(employer, done.id, eur("1.00"))
    assert (early.value.code, broke.value.code) == ("bonus_not_allowed", "insufficient_funds")
    assert snapshot(platform, employer, w1, w2) == before


def test_a_dispute_overturned_pays_and_counts_once(platform, clock):
    """A rejected worker disputes once; the operator overturns; the worker is paid what
    approval pays, from the employer's wallet; a second dispute or ruling is refused."""
    employer = person(platform, "employer", "10.00")
    operator, w1 = person(platform, "operator"), person(platform, "w1")
    task = platform.tasks.post_task(employer, terms(clock, n=1), "EUR")
    done = work(platform, clock, w1, task.id)
    platform.tasks.review(employer, task.id, [Decision(done.id, False, "wrong")])
    assert balance(platform, employer) == (units("10.00"), 0)
    platform.tasks.dispute(w1, done.id, "it was right, look again")
    before = snapshot(platform, employer, w1)
    with pytest.raises(DisputeNotAllowed) as again:
        platform.tasks.dispute(w1, done.id, "again")
    assert again.value.code == "dispute_not_allowed"
    assert snapshot(platform, employer, w1) == before

    decided = platform.tasks.decide_dispute(operator, done.id, overturn=True, note="the answer was right")
    assert decided.status == "overturned"
    assert balance(platform, w1) == (475_000, 0)
    assert balance(platform, employer) == (units("10.00") - 550_000, 0)
    assert revenue(platform) == 75_000
    assert platform.tasks.assignment(w1, done.id).status == AssignmentStatus.APPROVED
    assert platform.tasks.worker_record(w1).reputation.rejected == 0
    before = snapshot(platform, employer, w1)
    with pytest.raises(DisputeDecided) as decided_twice:
        platform.tasks.decide_dispute(operator, done.id, overturn=True)
    assert decided_twice.value.code == "dispute_decided"
    assert snapshot(platform, employer, w1) == before


def test_an_upheld_dispute_moves_nothing_and_the_window_closes(platform, clock):
    """Upheld, the rejection stands with no money moved; past the window no dispute opens."""
    employer = person(platform, "employer", "10.00")
    operator, w1, w2 = person(platform, "operator"), person(platform, "w1"), person(platform, "w2")
    task = platform.tasks.post_task(employer, terms(clock, n=2), "EUR")
    a1, a2 = work(platform, clock, w1, task.id), work(platform, clock, w2, task.id)
    platform.tasks.review(employer, task.id, [Decision(a1.id, False, "no"), Decision(a2.id, False, "no")])
    platform.tasks.dispute(w1, a1.id, "please")
    before = snapshot(platform, employer, w1, w2)
    assert platform.tasks.decide_dispute(operator, a1.id, overturn=False).status == "upheld"
    clock.advance(SETTINGS.task_dispute_window_seconds + 1)
    with pytest.raises(DisputeNotAllowed) as late:
        platform.tasks.dispute(w2, a2.id, "please")
    assert late.value.data["reason"] == "window_passed"
    assert snapshot(platform, employer, w1, w2) == before


def test_an_overturn_the_employer_cannot_pay_waits(platform, clock):
    """If the employer spent the released money, overturning answers employer_cannot_pay
    and the dispute stays open; nothing moves."""
    employer = person(platform, "employer", "1.00")
    operator, w1, friend = person(platform, "operator"), person(platform, "w1"), person(platform, "friend")
    task = platform.tasks.post_task(employer, terms(clock, n=1), "EUR")
    done = work(platform, clock, w1, task.id)
    platform.tasks.review(employer, task.id, [Decision(done.id, False, "no")])
    platform.wallets.pay(employer, friend, eur("0.95"))
    platform.tasks.dispute(w1, done.id, "it was right")
    before = snapshot(platform, employer, w1)
    with pytest.raises(EmployerCannotPay) as refused:
        platform.tasks.decide_dispute(operator, done.id, overturn=True)
    assert refused.value.code == "employer_cannot_pay"
    assert snapshot(platform, employer, w1) == before
    assert [d.status for d in platform.tasks.disputes()] == ["open"]


def test_one_employers_mass_rejection_lowers_the_rate_only_so_far(db_url, clock):
    """Within the dispute window at most N rejections from one employer count; after it,
    all do."""
    settings = Settings(task_rejections_per_employer=2)
    platform = build(settings, url=db_url, clock=clock, migrate=True)
    try:
        fair, harsh = person(platform, "fair", "10.00"), person(platform, "harsh", "10.00")
        worker = person(platform, "worker")
        good = platform.tasks.post_task(fair, terms(clock, n=1), "EUR")
        platform.tasks.review(fair, good.id, [Decision(work(platform, clock, worker, good.id).id, True)])
        for n in range(5):
            task = platform.tasks.post_task(harsh, terms(clock, n=1), "EUR", idempotency_key=f"h{n}")
            done = work(platform, clock, worker, task.id)
            platform.tasks.review(harsh, task.id, [Decision(done.id, False, "no")])
        record = platform.tasks.worker_record(worker).reputation
        assert (record.approved, record.rejected, record.counted_rejections) == (1, 5, 2)
        assert record.rate_bp == 3_333
        clock.advance(settings.task_dispute_window_seconds + 1)
        assert platform.tasks.worker_record(worker).reputation.rate_bp == 1_667
        assert check_ledger(platform.engine) == []
    finally:
        platform.close()


def test_fair_pay_tells_the_employer_below_the_minimum(db_url, clock):
    """Once enough answers are in, a task paying under the minimum hourly rate is flagged,
    with the bonus per assignment that would reach it, and its employer told once."""
    settings = Settings(
        task_fee=FeeRule(), task_payout_fee=FeeRule(), task_min_hourly=units("6.00"), task_fair_pay_samples=2
    )
    platform = build(settings, url=db_url, clock=clock, migrate=True)
    try:
        employer = person(platform, "employer", "10.00")
        task = platform.tasks.post_task(employer, terms(clock, reward="0.10"), "EUR")
        work(platform, clock, person(platform, "w1"), task.id, seconds=120)
        assert platform.tasks.task(task.id).fair_pay.hourly is None
        work(platform, clock, person(platform, "w2"), task.id, seconds=120)
        pay = platform.tasks.task(task.id).fair_pay
        assert (pay.hourly, pay.below_minimum, pay.bonus_to_reach_minimum) == (units("3.00"), True, 100_000)
        work(platform, clock, person(platform, "w3"), task.id, seconds=120)
        with platform.engine.connect() as connection:
            told = connection.exec_driver_sql(
                "SELECT COUNT(*) FROM events WHERE type = 'task.pay_below_minimum'"
            ).scalar()
        assert told == 1
    finally:
        platform.close()


def test_earnings_can_be_withdrawn_down_to_one_unit(platform, clock):
    """A worker withdraws 0.000001 of what a task paid: no minimum."""
    employer = person(platform, "employer", "10.00")
    w1 = person(platform, "w1")
    task = platform.tasks.post_task(employer, terms(clock, n=1), "EUR")
    platform.tasks.review(employer, task.id, [Decision(work(platform, clock, w1, task.id).id, True)])
    movement = platform.wallets.withdraw(w1, eur("0.000001"), "DE89370400440532013000")
    assert movement.status == "succeeded"
    assert balance(platform, w1) == (474_999, 0)


def _many_workers(platform, count: int) -> list[str]:
    ids = [new_id() for _ in range(count)]
    with platform.engine.begin() as connection:
        connection.execute(
            insert(users),
            [
                {"id": i, "email": f"w{n}@example.com", "password_hash": None, "display_name": f"W{n}",
                 "phone": None, "created_at": 0}
                for n, i in enumerate(ids)
            ],
        )  # fmt: skip
    return ids


def test_bulk_approval_of_1000_submissions_is_one_ledger_batch(platform, clock, monkeypatch):
    """Approving 1,000 submissions is one create_transfers call of 3,000 transfers, in one
    committed transaction, and pays every worker exactly."""
    employer = person(platform, "employer", "500.00")
    workers = _many_workers(platform, 1_000)
    task = platform.tasks.post_task(employer, terms(clock, reward="0.10", n=1_000), "EUR")
    ids = [work(platform, clock, w, task.id, seconds=1).id for w in workers]

    calls: list[int] = []
    original = LedgerSession.create_transfers

    def counting(self, transfers):
        calls.append(len(transfers))
        return original(self, transfers)

    monkeypatch.setattr(LedgerSession, "create_transfers", counting)
    commits: list[int] = []

    def committed(connection) -> None:
        commits.append(1)

    event.listen(platform.engine, "commit", committed)
    try:
        platform.tasks.review(employer, task.id, [Decision(i, True) for i in ids])
    finally:
        event.remove(platform.engine, "commit", committed)
    assert calls == [3_000]
    assert len(commits) == 1
    # 0.10 reward: 0.01 fee on top, 0.005 taken from it; 1,000 workers get 0.095 each.
    assert {balance(platform, w) for w in workers} == {(95_000, 0)}
    assert revenue(platform) == 1_000 * 15_000
    assert balance(platform, employer) == (units("500.00") - 1_000 * 110_000, 0)


def test_concurrent_auto_approvers_pay_each_submission_once(platform, clock):
    """Two job runners at once approve every due submission exactly once between them."""
    employer = person(platform, "employer", "10.00")
    workers = _many_workers(platform, 20)
    task = platform.tasks.post_task(employer, terms(clock, reward="0.10", n=20, auto=HOUR), "EUR")
    for w in workers:
        work(platform, clock, w, task.id, seconds=1)
    clock.advance(HOUR)
    done: list[int] = []
    start = threading.Barrier(2)

    def runner() -> None:
        start.wait()
        while (count := platform.tasks.auto_approve_due(limit=3)) > 0:
            done.append(count)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 20
    assert {balance(platform, w) for w in workers} == {(95_000, 0)}
    with platform.engine.connect() as connection:
        left = connection.execute(
            select(func.count()).where(task_assignments.c.status == str(AssignmentStatus.SUBMITTED))
        ).scalar()
    assert left == 0


def test_workers_subscribed_to_task_events_get_a_delivery_per_approval(platform, clock):
    """A bulk review records one event per reviewed worker, delivered only to endpoints
    subscribed to its type; a worker who already had a wallet is paid into it."""
    employer = person(platform, "employer", "10.00")
    w1, w2, w3 = person(platform, "w1", "1.00"), person(platform, "w2"), person(platform, "w3")
    platform.webhooks.create_endpoint(w1, "https://w1.example/hook", ["task.assignment_approved"])
    platform.webhooks.create_endpoint(w2, "https://w2.example/hook", ["payment.received"])
    task = platform.tasks.post_task(employer, terms(clock), "EUR")
    done = [work(platform, clock, w, task.id) for w in (w1, w2, w3)]
    platform.tasks.review(
        employer,
        task.id,
        [Decision(done[0].id, True), Decision(done[1].id, True), Decision(done[2].id, False, "no")],
    )
    assert balance(platform, w1) == (units("1.00") + 475_000, 0)
    with platform.engine.connect() as connection:
        kinds = connection.exec_driver_sql(
            "SELECT e.user_id, e.type, COUNT(d.id) FROM events e LEFT JOIN webhook_deliveries d "
            "ON d.event_id = e.id WHERE e.type IN ('task.assignment_approved', 'task.assignment_rejected') "
            "GROUP BY e.user_id, e.type"
        ).all()
    assert sorted(kinds) == sorted(
        [
            (w1, "task.assignment_approved", 1),
            (w2, "task.assignment_approved", 0),
            (w3, "task.assignment_rejected", 0),
        ]
    )


@pytest.mark.parametrize(
    ("change", "asset", "code"),
    [
        ({"assignments": 0}, "EUR", "invalid_task"),
        ({"deadline": 0}, "EUR", "invalid_task"),
        ({"reward": units("1000.01")}, "EUR", "amount_out_of_limits"),
        ({}, "XYZ", "unknown_asset"),
    ],
)
def test_bad_tasks_are_refused_and_hold_nothing(platform, clock, change, asset, code):
    """Broken terms, a reward over the payment limit, an unknown asset: each its code, no hold."""
    from dataclasses import replace

    from obolo.errors import OboloError

    employer = person(platform, "employer", "10.00")
    before = snapshot(platform, employer)
    with pytest.raises(OboloError) as refused:
        platform.tasks.post_task(employer, replace(terms(clock), **change), asset)
    assert refused.value.code == code
    assert snapshot(platform, employer) == before


def test_bad_reviews_answers_and_strangers_are_refused_and_move_nothing(platform, clock):
    """A review naming an assignment twice or one of another task is invalid_review; an
    empty answer invalid_answer; someone else's assignment assignment_not_found."""
    from obolo.tasks.errors import AssignmentNotFound, InvalidAnswer, InvalidReview

    employer = person(platform, "employer", "10.00")
    w1, w2 = person(platform, "w1"), person(platform, "w2")
    task = platform.tasks.post_task(employer, terms(clock), "EUR", idempotency_key="a")
    other = platform.tasks.post_task(employer, terms(clock), "EUR", idempotency_key="b")
    done = work(platform, clock, w1, task.id)
    elsewhere = work(platform, clock, w1, other.id)
    taken = platform.tasks.accept(w2, task.id)
    before = snapshot(platform, employer, w1, w2)
    with pytest.raises(InvalidReview) as twice:
        platform.tasks.review(employer, task.id, [Decision(done.id, True), Decision(done.id, True)])
    with pytest.raises(InvalidReview) as foreign:
        platform.tasks.review(employer, task.id, [Decision(done.id, True), Decision(elsewhere.id, True)])
    with pytest.raises(InvalidAnswer) as empty:
        platform.tasks.submit(w2, taken.id, "   ")
    with pytest.raises(AssignmentNotFound) as stranger:
        platform.tasks.submit(w1, taken.id, "mine now")
    codes = {twice.value.code, foreign.value.code, empty.value.code, stranger.value.code}
    assert codes == {"invalid_review", "invalid_answer", "assignment_not_found"}
    assert foreign.value.data["assignment_ids"] == [elsewhere.id]
    assert snapshot(platform, employer, w1, w2) == before
