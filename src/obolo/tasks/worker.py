"""What workers do: take a slot, hand in the answer, dispute a rejection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from obolo.adapters.db.schema_tasks import task_assignments, task_disputes, tasks
from obolo.adapters.db.transactions import run_in_transaction
from obolo.tasks.errors import (
    AlreadySubmitted,
    AlreadyTookPart,
    AssignmentExpired,
    AssignmentNotFound,
    DisputeNotAllowed,
    InvalidAnswer,
    NoAssignmentLeft,
    NotQualified,
    OwnTask,
    TaskNotOpen,
)
from obolo.tasks.model import (
    MAX_ANSWER_CHARS,
    NS_PER_SECOND,
    AssignmentStatus,
    DisputeStatus,
    TaskStatus,
    qualifies,
)
from obolo.tasks.store import TaskStore
from obolo.tasks.views import Assignment, Dispute
from obolo.webhooks.outbox import record_event

S = AssignmentStatus


class WorkerTasks(TaskStore):
    def accept(self, worker_id: str, task_id: str, idempotency_key: str | None = None) -> Assignment:
        """Take one slot of the task for its time allowed (then it is released). With a key,
        a slot this worker holds already answers as taken (a retry whose answer was lost).
        Raises TaskNotFound, OwnTask, TaskNotOpen, AlreadyTookPart, NotQualified,
        NoAssignmentLeft."""

        def work(connection: Connection) -> Assignment:
            task = self.task_row(connection, task_id, lock=True)
            if task.employer_id == worker_id:
                raise OwnTask("an employer cannot work on their own task")
            now = self.clock()
            if task.status != TaskStatus.OPEN or now >= task.deadline:
                raise TaskNotOpen("the task takes no more workers", task_status=task.status)
            mine = connection.execute(
                select(task_assignments).where(
                    task_assignments.c.task_id == task_id, task_assignments.c.worker_id == worker_id
                )
            ).first()
            timed_out = mine is not None and mine.status == S.ACCEPTED and mine.expires_at <= now
            if mine is not None and not timed_out and mine.status != S.OPEN:
                if mine.status == S.ACCEPTED and idempotency_key is not None:
                    return self.assignment_view(connection, mine.id)
                raise AlreadyTookPart("one assignment per worker per task", assignment_id=mine.id)
            record = self.reputation_of(connection, worker_id, now)
            if not qualifies(record, task.min_approval_rate_bp, task.min_approved):
                raise NotQualified(
                    "the task asks for a better record",
                    min_approval_rate_bp=task.min_approval_rate_bp,
                    min_approved=task.min_approved,
                    approval_rate_bp=record.rate_bp,
                    approved=record.approved,
                )
            slot = mine if timed_out else self._free_slot(connection, task_id, now)
            if slot is None:
                raise NoAssignmentLeft("every assignment of this task is taken")
            expires_at = now + task.time_allowed_seconds * NS_PER_SECOND
            changed = connection.execute(
                update(task_assignments)
                .where(task_assignments.c.id == slot.id, task_assignments.c.status == slot.status)
                .values(
                    status=str(S.ACCEPTED), worker_id=worker_id, accepted_at=now, expires_at=expires_at,
                    updated_at=now,
                )
            ).rowcount  # fmt: skip
            if changed != 1:
                raise NoAssignmentLeft("every assignment of this task is taken")
            return self.assignment_view(connection, slot.id)

        return run_in_transaction(self.engine, work)

    @staticmethod
    def _free_slot(connection: Connection, task_id: str, now: int) -> Any:
        """The lowest open slot, else one whose worker ran out of time."""
        free = select(task_assignments).where(task_assignments.c.task_id == task_id)
        found = connection.execute(
            free.where(task_assignments.c.status == str(S.OPEN)).order_by(task_assignments.c.slot).limit(1)
        ).first()
        if found is not None:
            return found
        return connection.execute(
            free.where(task_assignments.c.status == str(S.ACCEPTED), task_assignments.c.expires_at <= now)
            .order_by(task_assignments.c.slot)
            .limit(1)
        ).first()

    def submit(
        self, worker_id: str, assignment_id: str, answer: str, idempotency_key: str | None = None
    ) -> Assignment:
        """Hand in the answer (text or JSON text), once, within the time allowed; the time
        spent is recorded and silence approves it after the task's delay. With a key, the
        same answer handed in already answers as handed in (a retry whose answer was lost).
        Raises AssignmentNotFound, AlreadySubmitted, AssignmentExpired, InvalidAnswer."""
        if not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
            raise InvalidAnswer(f"an answer has 1 to {MAX_ANSWER_CHARS:,} characters")

        def work(connection: Connection) -> Assignment:
            row = connection.execute(
                self.locked(select(task_assignments).where(task_assignments.c.id == assignment_id))
            ).first()
            if row is None or row.worker_id != worker_id:
                raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
            if row.status in (S.SUBMITTED, S.APPROVED, S.REJECTED):
                if idempotency_key is not None and row.answer == answer:
                    return self.assignment_view(connection, assignment_id)
                raise AlreadySubmitted("this assignment was already submitted")
            now = self.clock()
            if row.status != S.ACCEPTED or now > row.expires_at:
                raise AssignmentExpired("the time allowed for this assignment has passed")
            task = self.task_row(connection, row.task_id)
            spent = max(1, -(-(now - row.accepted_at) // NS_PER_SECOND))
            connection.execute(
                update(task_assignments)
                .where(task_assignments.c.id == assignment_id)
                .values(
                    status=str(S.SUBMITTED), submitted_at=now, seconds_spent=spent, answer=answer,
                    due_at=now + task.auto_approve_seconds * NS_PER_SECOND, updated_at=now,
                )
            )  # fmt: skip
            record_event(
                connection,
                task.employer_id,
                "task.assignment_submitted",
                {"task_id": task.id, "assignment_id": assignment_id},
                now,
            )
            self._tell_if_underpaid(connection, task, now)
            return self.assignment_view(connection, assignment_id)

        return run_in_transaction(self.engine, work)

    def _tell_if_underpaid(self, connection: Connection, task: Any, now: int) -> None:
        """Once a task's effective hourly pay is known to fall below the platform's
        minimum, tell its employer (once) and suggest the bonus that would fix it."""
        if task.pay_notice_at is not None or not self.settings.task_min_hourly:
            return
        pay = self.task_view(connection, task).fair_pay
        if not pay.below_minimum or pay.hourly is None:
            return
        connection.execute(update(tasks).where(tasks.c.id == task.id).values(pay_notice_at=now))
        record_event(
            connection,
            task.employer_id,
            "task.pay_below_minimum",
            {
                "task_id": task.id,
                "asset": task.asset,
                "effective_hourly": self.fmt(pay.hourly, task.asset),
                "minimum_hourly": self.fmt(pay.minimum, task.asset),
                "bonus_per_assignment": self.fmt(pay.bonus_to_reach_minimum or 0, task.asset),
            },
            now,
        )

    def dispute(
        self, worker_id: str, assignment_id: str, message: str, idempotency_key: str | None = None
    ) -> Dispute:
        """Contest a rejection, once, within the dispute window. With a key, the same
        dispute opened already answers as opened (a retry whose answer was lost). Raises
        AssignmentNotFound, DisputeNotAllowed, InvalidAnswer."""
        if not message.strip() or len(message) > 2_000:
            raise InvalidAnswer("a dispute message has 1 to 2,000 characters", field="message")

        def work(connection: Connection) -> Dispute:
            row = connection.execute(
                self.locked(select(task_assignments).where(task_assignments.c.id == assignment_id))
            ).first()
            if row is None or row.worker_id != worker_id:
                raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
            if row.status != S.REJECTED:
                raise DisputeNotAllowed("only a rejection can be disputed", reason="not_rejected")
            existing = connection.execute(
                select(task_disputes).where(task_disputes.c.assignment_id == assignment_id)
            ).first()
            if existing is not None and idempotency_key is not None and existing.message == message:
                return self.dispute_view(connection, assignment_id)
            if existing is not None:
                raise DisputeNotAllowed("a rejection can be disputed once", reason="already_disputed")
            now = self.clock()
            if now > row.reviewed_at + self.settings.task_dispute_window_seconds * NS_PER_SECOND:
                raise DisputeNotAllowed(
                    "the time to dispute this rejection has passed", reason="window_passed"
                )
            connection.execute(
                insert(task_disputes).values(
                    assignment_id=assignment_id, worker_id=worker_id, message=message,
                    status=str(DisputeStatus.OPEN), opened_at=now,
                )
            )  # fmt: skip
            return self.dispute_view(connection, assignment_id)

        return run_in_transaction(self.engine, work)


__all__ = ["WorkerTasks"]
