"""Random lives of tasks (post, accept, submit, review, cancel, bonus, time passing, the
background jobs) against the books: after every step the ledger checks, every slot's hold
matches its state, no money appears or vanishes, and a refused step moves nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from obolo.adapters.db.schema_tasks import task_assignments
from obolo.bootstrap import build
from obolo.errors import OboloError
from obolo.ledger.check import check_ledger
from obolo.settings import FeeRule, Settings
from obolo.tasks.model import AssignmentStatus, Terms
from obolo.tasks.service import Decision
from tests.fakes import FakeClock
from tests.integration.test_tasks_service import eur, person, revenue, task_books

NS = 1_000_000_000
TOPPED_UP = {"e1": "20.00", "e2": "3.00"}


class TaskLives(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.clock = FakeClock()
        settings_ = Settings(task_fee=FeeRule(1000, 1), task_payout_fee=FeeRule(333, 0))
        self.platform = build(
            settings_, url=f"sqlite:///{Path(self.folder.name) / 't.db'}", clock=self.clock, migrate=True
        )
        self.employers = [person(self.platform, name, amount) for name, amount in TOPPED_UP.items()]
        self.workers = [person(self.platform, f"w{n}") for n in range(4)]
        self.tasks: list[tuple[str, str]] = []  # (employer, task id)
        self.keys = 0

    def teardown(self) -> None:
        self.platform.close()
        self.folder.cleanup()

    # -- helpers ----------------------------------------------------------------------------
    def _money(self) -> tuple:
        balances = []
        for user in self.employers + self.workers:
            found = {b.asset: (b.available, b.reserved) for b in self.platform.wallets.balances(user)}
            balances.append(found.get("EUR", (0, 0)))
        return (*balances, revenue(self.platform))

    def _refusal_moves_nothing(self, name: str, step) -> None:
        before = self._money()
        try:
            step()
        except OboloError as error:
            event(f"{name}: {error.code}")
            assert self._money() == before
        else:
            event(f"{name}: ok")

    def _slots(self, status: AssignmentStatus) -> list:
        with self.platform.engine.connect() as connection:
            return connection.execute(
                select(task_assignments).where(task_assignments.c.status == str(status))
            ).all()

    # -- steps ------------------------------------------------------------------------------
    @rule(
        data=st.data(),
        n=st.integers(1, 4),
        reward=st.sampled_from([1, 9, 10_000, 500_000, 2_000_000]),
        auto=st.sampled_from([0, 600, 7200]),
    )
    def post(self, data, n, reward, auto) -> None:
        employer = data.draw(st.sampled_from(self.employers))
        self.keys += 1
        terms = Terms("T", "Do it", reward, n, 300, self.clock() + 3600 * NS, auto_approve_seconds=auto)

        def step() -> None:
            task = self.platform.tasks.post_task(employer, terms, "EUR", idempotency_key=str(self.keys))
            self.tasks.append((employer, task.id))

        self._refusal_moves_nothing("post", step)

    @initialize()
    def first_task(self) -> None:
        terms = Terms("T", "Do it", 500_000, 3, 300, self.clock() + 3600 * NS, auto_approve_seconds=600)
        self.tasks.append(
            (self.employers[0], self.platform.tasks.post_task(self.employers[0], terms, "EUR").id)
        )

    @rule(data=st.data(), then_submit=st.booleans())
    def accept(self, data, then_submit) -> None:
        _, task_id = data.draw(st.sampled_from(self.tasks))
        worker = data.draw(st.sampled_from(self.workers * 2 + self.employers[:1]))

        def step() -> None:
            taken = self.platform.tasks.accept(worker, task_id)
            if then_submit:
                self.platform.tasks.submit(worker, taken.id, "yes")

        self._refusal_moves_nothing("accept", step)

    @rule(data=st.data(), empty=st.booleans())
    def submit(self, data, empty) -> None:
        taken = self._slots(AssignmentStatus.ACCEPTED)
        if not taken:
            return
        slot = data.draw(st.sampled_from(taken))
        answer = " " if empty else "yes"
        self._refusal_moves_nothing(
            "submit", lambda: self.platform.tasks.submit(slot.worker_id, slot.id, answer)
        )

    @rule(data=st.data(), approve=st.booleans())
    def work_then_review(self, data, approve) -> None:
        employer, task_id = data.draw(st.sampled_from(self.tasks))
        worker = data.draw(st.sampled_from(self.workers))

        def step() -> None:
            taken = self.platform.tasks.accept(worker, task_id)
            self.platform.tasks.submit(worker, taken.id, "yes")
            self.platform.tasks.review(employer, task_id, [Decision(taken.id, approve, "no")])

        self._refusal_moves_nothing("work then review", step)

    @rule(data=st.data(), any_slot=st.integers(0, 4))
    def review(self, data, any_slot) -> None:
        employer, task_id = data.draw(st.sampled_from(self.tasks))
        submitted = self._slots(AssignmentStatus.SUBMITTED)
        if any_slot and submitted:  # mostly submitted work; sometimes anything, to be refused
            task_id = data.draw(st.sampled_from(submitted)).task_id
            employer = next(e for e, t in self.tasks if t == task_id)
            ids = [s.id for s in submitted if s.task_id == task_id]
        else:
            with self.platform.engine.connect() as connection:
                ids = [r.id for r in connection.execute(
                    select(task_assignments.c.id).where(task_assignments.c.task_id == task_id)
                ).all()]  # fmt: skip
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True))
        decisions = [
            Decision(i, data.draw(st.booleans()), data.draw(st.sampled_from([None, "no"]))) for i in chosen
        ]
        reviewer = data.draw(st.sampled_from([employer, employer, employer, self.workers[0]]))
        self._refusal_moves_nothing(
            "review", lambda: self.platform.tasks.review(reviewer, task_id, decisions)
        )

    @rule(data=st.data(), rarely=st.integers(0, 3))
    def cancel(self, data, rarely) -> None:
        if rarely:
            return  # cancelling often would leave nothing else to do
        employer, task_id = data.draw(st.sampled_from(self.tasks))
        self._refusal_moves_nothing("cancel", lambda: self.platform.tasks.cancel(employer, task_id))

    @rule(data=st.data(), amount=st.sampled_from(["0.000001", "0.50", "5.00"]))
    def bonus(self, data, amount) -> None:
        employer, task_id = data.draw(st.sampled_from(self.tasks))
        with self.platform.engine.connect() as connection:
            ids = [r.id for r in connection.execute(
                select(task_assignments.c.id).where(task_assignments.c.task_id == task_id)
            ).all()]  # fmt: skip
        target = data.draw(st.sampled_from(ids))
        self._refusal_moves_nothing("bonus", lambda: self.platform.tasks.bonus(employer, target, eur(amount)))

    @rule(seconds=st.sampled_from([1, 301, 700, 3601]))
    def time_passes(self, seconds) -> None:
        self.clock.advance(seconds)

    @rule()
    def jobs(self) -> None:
        self.platform.tasks.auto_approve_due()
        self.platform.tasks.release_expired()

    # -- the books --------------------------------------------------------------------------
    @invariant()
    def books_hold(self) -> None:
        assert check_ledger(self.platform.engine) == []
        assert task_books(self.platform) == []
        balances = self._money()
        total = sum(available + reserved for available, reserved in balances[:-1]) + balances[-1]
        assert total == sum(eur(amount).units for amount in TOPPED_UP.values())


TaskLives.TestCase.settings = settings(max_examples=10, stateful_step_count=30, deadline=None)
test_task_lives = TaskLives.TestCase
