"""What employers do: post a task (its slots held), review submissions, cancel, pay bonuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update

from obolo.adapters.db.schema_tasks import task_assignments, task_bonuses, tasks
from obolo.adapters.ids import derived_id, keyed_id
from obolo.errors import InvalidRequest
from obolo.ledger import Account, AccountFlags, LedgerSession, TransferResult, expect_ok
from obolo.money import Amount, AssetMismatch
from obolo.tasks.errors import (
    AssignmentNotFound,
    BonusNotAllowed,
    InvalidReview,
    NotReviewable,
    ReasonRequired,
    TaskNotOpen,
)
from obolo.tasks.model import (
    MAX_REVIEW,
    AccountCode,
    Accounts,
    AssignmentStatus,
    Reviewer,
    TaskStatus,
    Terms,
    TransferCode,
    bonus_fee,
    check_terms,
    direct_transfers,
    hold_transfers,
    price,
)
from obolo.tasks.settling import TaskSettling
from obolo.tasks.store import id_bytes, task_accounts, uuid_text
from obolo.tasks.views import Assignment, Bonus, Decision, Task
from obolo.wallets.model import PlatformAccount
from obolo.webhooks.outbox import record_event

S = AssignmentStatus
_R = TransferResult


def _reviewed_as(row: Any, decision: Decision) -> bool:
    """Was the assignment reviewed by its employer as `decision` says?"""
    if row.reviewed_by != Reviewer.EMPLOYER:
        return False
    if decision.approve:
        return bool(row.status == S.APPROVED)
    return bool(row.status == S.REJECTED and row.reason == decision.reason)


class EmployerTasks(TaskSettling):
    def post_task(
        self, employer_id: str, terms: Terms, asset_code: str, idempotency_key: str | None = None
    ) -> Task:
        """Publish a task and hold `(reward + fee) x assignments` from the employer's wallet,
        one pending hold per slot, all or none. Raises InvalidTask, AmountOutOfLimits,
        UnknownAsset, and InsufficientFunds before anything is created."""
        asset = self.wallets.asset(asset_code)
        now = self.clock()
        check_terms(terms, now)
        self.wallets.check_amount(Amount(terms.reward, asset), 1, self.settings.payment_max)
        pricing = price(terms.reward, self.settings.task_fee, self.settings.task_payout_fee)
        total = pricing.hold * terms.assignments
        task_id = keyed_id(idempotency_key, "task", employer_id)

        def work(session: LedgerSession) -> Task:
            connection = session.connection
            existing = connection.execute(select(tasks).where(tasks.c.id == task_id)).first()
            if existing is not None:
                return self.task_view(connection, existing)
            wallet = self.wallets.wallet(session, employer_id, asset.code)
            (account,) = session.lookup_accounts([wallet.account_id])
            if account.available < total:
                raise self.insufficient(session, wallet.account_id, asset.code, total)
            escrow = derived_id("task-escrow", task_id)
            created = session.create_accounts(
                [
                    Account(
                        escrow,
                        asset.code,
                        code=int(AccountCode.TASK_ESCROW),
                        # Escrow pays out only what holds posted into it.
                        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                        owner=f"task:{task_id}",
                    )
                ]
            )
            expect_ok(created, f"escrow of task {task_id}", retry_ok=False)
            accounts = Accounts(
                asset.code, wallet.account_id, escrow, PlatformAccount.FEE_REVENUE.account_id(asset.code)
            )
            hold_ids = [derived_id("task-hold", task_id, str(slot)) for slot in range(terms.assignments)]
            results = session.create_transfers(hold_transfers(hold_ids, accounts, pricing))
            if _R.EXCEEDS_CREDITS in results:
                # Spent between our look and the holds: the whole transaction rolls back.
                raise self.insufficient(session, wallet.account_id, asset.code, total)
            expect_ok(results, f"holds of task {task_id}")
            connection.execute(
                insert(tasks).values(
                    id=task_id, employer_id=employer_id, asset=asset.code, title=terms.title.strip(),
                    instructions=terms.instructions, reward=pricing.reward, fee=pricing.fee,
                    payout_fee=pricing.payout_fee, assignments=terms.assignments,
                    time_allowed_seconds=terms.time_allowed_seconds,
                    auto_approve_seconds=terms.auto_approve_seconds, deadline=terms.deadline,
                    min_approval_rate_bp=terms.min_approval_rate_bp, min_approved=terms.min_approved,
                    status=str(TaskStatus.OPEN), escrow_account_id=id_bytes(escrow),
                    wallet_account_id=id_bytes(wallet.account_id), created_at=now,
                )
            )  # fmt: skip
            connection.execute(
                insert(task_assignments),
                [
                    {
                        "id": uuid_text(derived_id("task-slot", task_id, str(slot))),
                        "task_id": task_id,
                        "slot": slot,
                        "hold_id": id_bytes(hold_id),
                        "status": str(S.OPEN),
                        "updated_at": now,
                    }
                    for slot, hold_id in enumerate(hold_ids)
                ],
            )
            record_event(
                connection,
                employer_id,
                "task.posted",
                {"task_id": task_id, "held": self.fmt(total, asset.code), "asset": asset.code},
                now,
            )
            row = connection.execute(select(tasks).where(tasks.c.id == task_id)).one()
            return self.task_view(connection, row)

        return self.ledger.run(work)

    def review(
        self,
        employer_id: str,
        task_id: str,
        decisions: Sequence[Decision],
        idempotency_key: str | None = None,
    ) -> list[Assignment]:
        """Approve or reject submitted work, all items or none: approvals are paid and
        rejections release their hold in ONE ledger batch. With a key, a review already
        made exactly so answers as made (a retry whose answer was lost). Raises
        InvalidReview, ReasonRequired, NotTheEmployer, TaskNotFound, NotReviewable."""
        if not decisions or len(decisions) > MAX_REVIEW:
            raise InvalidReview(f"review 1 to {MAX_REVIEW} submissions at a time")
        wanted = [d.assignment_id for d in decisions]
        if len(set(wanted)) != len(wanted):
            raise InvalidReview("an assignment appears twice in the review")
        for decision in decisions:
            if not decision.approve and not (decision.reason or "").strip():
                raise ReasonRequired("a rejection needs a reason", assignment_id=decision.assignment_id)
            if decision.reason is not None and len(decision.reason) > 2_000:
                raise InvalidReview("a reason has at most 2,000 characters")
        by_id = {d.assignment_id: d for d in decisions}

        def work(session: LedgerSession) -> list[Assignment]:
            connection = session.connection
            task = self.employer_task(connection, employer_id, task_id)
            rows = connection.execute(
                self.locked(
                    select(task_assignments).where(
                        task_assignments.c.task_id == task_id, task_assignments.c.id.in_(wanted)
                    )
                )
            ).all()
            if len(rows) != len(wanted):
                missing = sorted(set(wanted) - {r.id for r in rows})
                raise InvalidReview("some assignments are not of this task", assignment_ids=missing[:20])
            not_submitted = sorted(r.id for r in rows if r.status != S.SUBMITTED)
            made = idempotency_key is not None and all(_reviewed_as(r, by_id[r.id]) for r in rows)
            if not_submitted and made:
                return self.assignments_by_id(connection, wanted)
            if not_submitted:
                raise NotReviewable(
                    "only submitted work can be approved or rejected", assignment_ids=not_submitted[:20]
                )
            items = [(task, row, by_id[row.id].approve, by_id[row.id].reason) for row in rows]
            self.settle(session, items, Reviewer.EMPLOYER, self.clock())
            return self.assignments_by_id(connection, wanted)

        return self.ledger.run(work)

    def cancel(self, employer_id: str, task_id: str, idempotency_key: str | None = None) -> Task:
        """Stop the task: slots nobody has taken release their holds now. Work in flight
        keeps its money: accepted slots may still be submitted within their time, and
        submitted work must still be reviewed or is approved by silence. With a key, a
        task already cancelled answers as cancelled (a retry whose answer was lost).
        Raises TaskNotFound, NotTheEmployer, TaskNotOpen."""

        def work(session: LedgerSession) -> Task:
            connection = session.connection
            task = self.employer_task(connection, employer_id, task_id)
            if task.status == TaskStatus.CANCELLED and idempotency_key is not None:
                return self.task_view(connection, task)
            if task.status != TaskStatus.OPEN:
                raise TaskNotOpen(f"the task is already {task.status}", task_status=task.status)
            now = self.clock()
            self.release_open_slots(session, [task], now)
            connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id)
                .values(status=str(TaskStatus.CANCELLED), closed_at=now)
            )
            return self.task_view(connection, self.task_row(connection, task_id))

        return self.ledger.run(work)

    def bonus(
        self,
        employer_id: str,
        assignment_id: str,
        amount: Amount,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Bonus:
        """Pay the worker of an assignment a bonus from the employer's wallet (plus the
        employer's fee on it), linked. Raises AssignmentNotFound, NotTheEmployer,
        BonusNotAllowed, AmountOutOfLimits, AssetMismatch, InsufficientFunds."""
        self.wallets.check_amount(amount, 1, self.settings.payment_max)
        if reason is not None and len(reason) > 280:
            raise InvalidRequest("a bonus reason has at most 280 characters", field="reason")
        bonus_id = keyed_id(idempotency_key, "task-bonus", employer_id)

        def work(session: LedgerSession) -> Bonus:
            connection = session.connection
            done = connection.execute(select(task_bonuses).where(task_bonuses.c.id == bonus_id)).first()
            row = connection.execute(
                select(task_assignments).where(task_assignments.c.id == assignment_id)
            ).first()
            if row is None:
                raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
            task = self.employer_task(connection, employer_id, row.task_id)
            if done is not None:
                return Bonus(done.id, done.assignment_id, done.worker_id, task.asset, done.amount, done.fee,
                             done.reason, done.created_at)  # fmt: skip
            if amount.asset.code != task.asset:
                raise AssetMismatch(f"the task pays in {task.asset}")
            if row.status not in (S.SUBMITTED, S.APPROVED, S.REJECTED):
                raise BonusNotAllowed("a bonus goes to work that was submitted", assignment_status=row.status)
            fee = bonus_fee(amount.units, self.settings.task_fee)
            accounts = task_accounts(task)
            worker_account = self.worker_accounts(session, {row.worker_id}, task.asset)[row.worker_id]
            ids = (derived_id("task-bonus", bonus_id, "pay"), derived_id("task-bonus", bonus_id, "fee"))
            results = session.create_transfers(
                direct_transfers(ids, worker_account, accounts, amount.units, fee, TransferCode.TASK_BONUS)
            )
            if _R.EXCEEDS_CREDITS in results:
                raise self.insufficient(session, accounts.employer_wallet, task.asset, amount.units + fee)
            expect_ok(results, f"bonus {bonus_id}")
            now = self.clock()
            connection.execute(
                insert(task_bonuses).values(
                    id=bonus_id, assignment_id=row.id, worker_id=row.worker_id, amount=amount.units,
                    fee=fee, reason=reason, created_at=now,
                )
            )  # fmt: skip
            record_event(
                connection,
                row.worker_id,
                "task.bonus_paid",
                {"assignment_id": row.id, "amount": amount.format(), "asset": task.asset, "reason": reason},
                now,
            )
            return Bonus(bonus_id, row.id, row.worker_id, task.asset, amount.units, fee, reason, now)

        return self.ledger.run(work)


__all__ = ["EmployerTasks"]
