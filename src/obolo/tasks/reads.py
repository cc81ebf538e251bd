"""Reads: tasks to browse, a task's slots, a worker's assignments and record."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, and_, func, or_, select

from obolo.adapters.db.schema_tasks import task_assignments, task_bonuses, tasks
from obolo.tasks.errors import AssignmentNotFound, NotTheEmployer
from obolo.tasks.model import MAX_REVIEW, AssignmentStatus, TaskStatus
from obolo.tasks.store import TaskStore
from obolo.tasks.views import Assignment, Task, WorkerRecord

S = AssignmentStatus


class TaskReads(TaskStore):
    def task(self, task_id: str) -> Task:
        """A task as anyone may see it. Raises TaskNotFound."""
        return self.read(lambda c: self.task_view(c, self.task_row(c, task_id)))

    def list_tasks(
        self,
        viewer_id: str,
        *,
        mine: bool = False,
        status: TaskStatus | None = None,
        asset: str | None = None,
        min_reward: int | None = None,
        qualified: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Task]:
        """The viewer's own tasks (`mine`), or open tasks with a free slot to browse,
        newest first, filtered by asset, minimum reward and (for workers) whether the
        viewer qualifies."""
        limit = max(1, min(limit, 200))

        def work(connection: Connection) -> list[Task]:
            now = self.clock()
            query = select(tasks)
            if mine:
                query = query.where(tasks.c.employer_id == viewer_id)
                if status is not None:
                    query = query.where(tasks.c.status == str(status))
            else:
                free = (
                    select(task_assignments.c.id)
                    .where(
                        task_assignments.c.task_id == tasks.c.id,
                        or_(
                            task_assignments.c.status == str(S.OPEN),
                            and_(
                                task_assignments.c.status == str(S.ACCEPTED),
                                task_assignments.c.expires_at <= now,
                            ),
                        ),
                    )
                    .exists()
                )
                query = query.where(tasks.c.status == str(TaskStatus.OPEN), tasks.c.deadline > now, free)
            if asset is not None:
                query = query.where(tasks.c.asset == asset)
            if min_reward is not None:
                query = query.where(tasks.c.reward >= min_reward)
            if qualified:
                record = self.reputation_of(connection, viewer_id, now)
                query = query.where(tasks.c.min_approved <= record.approved, tasks.c.employer_id != viewer_id)
                if record.rate_bp is not None:
                    query = query.where(tasks.c.min_approval_rate_bp <= record.rate_bp)
            query = query.order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(limit).offset(offset)
            return [self.task_view(connection, row) for row in connection.execute(query).all()]

        return self.read(work)

    def assignment(self, viewer_id: str, assignment_id: str) -> Assignment:
        """An assignment, for its worker or its task's employer. Raises AssignmentNotFound."""

        def work(connection: Connection) -> Assignment:
            row = connection.execute(
                select(task_assignments, tasks.c.employer_id)
                .join(tasks, tasks.c.id == task_assignments.c.task_id)
                .where(task_assignments.c.id == assignment_id)
            ).first()
            if row is None or viewer_id not in (row.worker_id, row.employer_id):
                raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
            return self.assignment_view(connection, assignment_id)

        return self.read(work)

    def task_assignments(
        self,
        employer_id: str,
        task_id: str,
        status: AssignmentStatus | None = None,
        limit: int = 1_000,
        offset: int = 0,
    ) -> list[Assignment]:
        """The task's slots for its employer (e.g. `submitted` ones to review), by slot."""

        def work(connection: Connection) -> list[Assignment]:
            task = self.task_row(connection, task_id)
            if task.employer_id != employer_id:
                raise NotTheEmployer("only the task's employer sees its submissions", task_id=task_id)
            query = select(task_assignments).where(task_assignments.c.task_id == task_id)
            if status is not None:
                query = query.where(task_assignments.c.status == str(status))
            query = (
                query.order_by(task_assignments.c.slot).limit(max(1, min(limit, MAX_REVIEW))).offset(offset)
            )
            return self.with_disputes(connection, connection.execute(query).all())

        return self.read(work)

    def my_assignments(
        self, worker_id: str, status: AssignmentStatus | None = None, limit: int = 100, offset: int = 0
    ) -> list[Assignment]:
        """The worker's assignments, newest first."""

        def work(connection: Connection) -> list[Assignment]:
            query = select(task_assignments).where(task_assignments.c.worker_id == worker_id)
            if status is not None:
                query = query.where(task_assignments.c.status == str(status))
            query = (
                query.order_by(task_assignments.c.accepted_at.desc(), task_assignments.c.id)
                .limit(max(1, min(limit, 500)))
                .offset(offset)
            )
            return self.with_disputes(connection, connection.execute(query).all())

        return self.read(work)

    def worker_record(self, worker_id: str) -> WorkerRecord:
        """Reputation, what tasks have paid the worker and what waits for review."""

        def work(connection: Connection) -> WorkerRecord:
            now = self.clock()
            earned: dict[str, int] = defaultdict(int)
            awaiting: dict[str, int] = defaultdict(int)
            paid = func.coalesce(func.sum(task_assignments.c.paid), 0)
            rows = connection.execute(
                select(tasks.c.asset, task_assignments.c.status, paid, func.count(), tasks.c.reward,
                       tasks.c.payout_fee)
                .join(tasks, tasks.c.id == task_assignments.c.task_id)
                .where(task_assignments.c.worker_id == worker_id,
                       task_assignments.c.status.in_([str(S.APPROVED), str(S.SUBMITTED)]))
                .group_by(tasks.c.asset, task_assignments.c.status, tasks.c.reward, tasks.c.payout_fee)
            ).all()  # fmt: skip
            for asset, status, total, count, reward, payout_fee in rows:
                if status == S.APPROVED:
                    earned[asset] += int(total)
                else:
                    awaiting[asset] += count * (reward - payout_fee)
            bonuses = connection.execute(
                select(tasks.c.asset, func.sum(task_bonuses.c.amount))
                .join(task_assignments, task_assignments.c.id == task_bonuses.c.assignment_id)
                .join(tasks, tasks.c.id == task_assignments.c.task_id)
                .where(task_bonuses.c.worker_id == worker_id)
                .group_by(tasks.c.asset)
            ).all()
            for asset, total in bonuses:
                earned[asset] += int(total)
            return WorkerRecord(self.reputation_of(connection, worker_id, now), dict(earned), dict(awaiting))

        return self.read(work)


__all__ = ["TaskReads"]
