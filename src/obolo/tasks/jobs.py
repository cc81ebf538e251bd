"""Background jobs: approve by silence, give back timed-out slots, close tasks past their
deadline. Each claims rows with `SKIP LOCKED` on PostgreSQL, so workers never collide."""

from __future__ import annotations

from sqlalchemy import select, update

from obolo.adapters.db.schema_tasks import task_assignments, tasks
from obolo.ledger import MAX_BATCH, LedgerSession
from obolo.tasks.model import MAX_REVIEW, AssignmentStatus, Reviewer, TaskStatus
from obolo.tasks.settling import TaskSettling

S = AssignmentStatus


class TaskJobs(TaskSettling):
    def auto_approve_due(self, limit: int = 1_000) -> int:
        """Approve and pay submissions nobody reviewed within their task's delay, in one
        batch. Safe to run from many workers at once: each claims different rows."""
        limit = max(1, min(limit, MAX_REVIEW))

        def work(session: LedgerSession) -> int:
            connection = session.connection
            now = self.clock()
            rows = connection.execute(
                self.locked(
                    select(task_assignments)
                    .where(task_assignments.c.status == str(S.SUBMITTED), task_assignments.c.due_at <= now)
                    .order_by(task_assignments.c.due_at)
                    .limit(limit),
                    skip=True,
                )
            ).all()
            if not rows:
                return 0
            task_rows = {
                t.id: t
                for t in connection.execute(
                    select(tasks).where(tasks.c.id.in_({r.task_id for r in rows}))
                ).all()
            }
            self.settle(session, [(task_rows[r.task_id], r, True, None) for r in rows], Reviewer.AUTO, now)
            return len(rows)

        return self.ledger.run(work)

    def release_expired(self, limit: int = 1_000) -> int:
        """Give back slots whose worker ran out of time (to the task if it still takes
        workers, else their hold to the employer), and close tasks past their deadline,
        releasing the holds of slots nobody took. Returns how many slots moved."""
        limit = max(1, min(limit, MAX_REVIEW))

        def work(session: LedgerSession) -> int:
            connection = session.connection
            now = self.clock()
            timed_out = connection.execute(
                self.locked(
                    select(task_assignments, tasks.c.status.label("task_status"), tasks.c.deadline)
                    .join(tasks, tasks.c.id == task_assignments.c.task_id)
                    .where(task_assignments.c.status == str(S.ACCEPTED), task_assignments.c.expires_at <= now)
                    .limit(limit),
                    skip=True,
                    # Only the slots: locking their tasks too would hold up workers accepting.
                    of=task_assignments,
                )
            ).all()
            reopen = [r.id for r in timed_out if r.task_status == TaskStatus.OPEN and now < r.deadline]
            if reopen:
                connection.execute(
                    update(task_assignments)
                    .where(task_assignments.c.id.in_(reopen))
                    .values(
                        status=str(S.OPEN), worker_id=None, accepted_at=None, expires_at=None, updated_at=now
                    )
                )
            moved = len(reopen) + self.release(
                session, [r for r in timed_out if r.id not in set(reopen)], now
            )
            due = connection.execute(
                self.locked(
                    select(tasks)
                    .where(tasks.c.status == str(TaskStatus.OPEN), tasks.c.deadline <= now)
                    .order_by(tasks.c.deadline)
                    .limit(3),
                    skip=True,
                )
            ).all()
            budget = MAX_BATCH - 2 * limit
            for task in due:
                if task.assignments > budget:
                    break
                budget -= task.assignments
                moved += self.release_open_slots(session, [task], now)
                connection.execute(
                    update(tasks)
                    .where(tasks.c.id == task.id)
                    .values(status=str(TaskStatus.CLOSED), closed_at=now)
                )
            return moved

        return self.ledger.run(work)


__all__ = ["TaskJobs"]
