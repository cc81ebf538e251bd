"""Settling slots, shared by employers and the jobs: approvals paid and rejections
released in one ledger batch; holds of slots nobody holds voided."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update

from obolo.adapters.db.schema_tasks import task_assignments
from obolo.adapters.ids import derived_id
from obolo.ledger import LedgerSession, Transfer, expect_ok
from obolo.tasks.model import AssignmentStatus, Reviewer, approval_transfers, release_transfer
from obolo.tasks.store import TaskStore, int_id, task_accounts, task_pricing
from obolo.webhooks.outbox import record_events

S = AssignmentStatus


class TaskSettling(TaskStore):
    def settle(
        self,
        session: LedgerSession,
        items: list[tuple[Any, Any, bool, str | None]],
        reviewer: Reviewer,
        now: int,
    ) -> None:
        """Pay approved slots and release rejected ones: every transfer in one batch.
        `items` are (task row, assignment row, approve, reason), rows read under lock."""
        connection = session.connection
        workers: dict[str, set[str]] = defaultdict(set)
        for task, row, approve, _ in items:
            if approve:
                workers[task.asset].add(row.worker_id)
        accounts_of = {asset: self.worker_accounts(session, ids, asset) for asset, ids in workers.items()}
        transfers: list[Transfer] = []
        for task, row, approve, _ in items:
            hold_id = int_id(row.hold_id)
            if approve:
                ids = (
                    derived_id("task-approve", row.id, "post"),
                    derived_id("task-approve", row.id, "pay"),
                    derived_id("task-approve", row.id, "fee"),
                )
                worker_account = accounts_of[task.asset][row.worker_id]
                transfers += approval_transfers(
                    ids, hold_id, worker_account, task_accounts(task), task_pricing(task)
                )
            else:
                transfers.append(release_transfer(derived_id("task-release", row.id), hold_id))
        results = session.create_transfers(transfers)
        expect_ok(results, f"settling {len(items)} assignments")
        paid_by_task: dict[str, list[str]] = defaultdict(list)
        for task, row, approve, _ in items:
            if approve:
                paid_by_task[task.id].append(row.id)
        tasks_by_id = {task.id: task for task, _, _, _ in items}
        for task_id, paid_ids in paid_by_task.items():
            connection.execute(
                update(task_assignments)
                .where(task_assignments.c.id.in_(paid_ids))
                .values(
                    status=str(S.APPROVED),
                    reviewed_at=now,
                    reviewed_by=str(reviewer),
                    paid=task_pricing(tasks_by_id[task_id]).payout,
                    updated_at=now,
                )
            )
        rejected = [{"key": row.id, "why": reason} for _, row, approve, reason in items if not approve]
        if rejected:
            connection.execute(
                update(task_assignments)
                .where(task_assignments.c.id == bindparam("key"))
                .values(
                    status=str(S.REJECTED),
                    reviewed_at=now,
                    reviewed_by=str(reviewer),
                    reason=bindparam("why"),
                    paid=0,
                    updated_at=now,
                ),
                rejected,
            )
        events = []
        for task, row, approve, reason in items:
            payload: dict[str, Any] = {
                "task_id": task.id,
                "assignment_id": row.id,
                "reviewed_by": str(reviewer),
            }
            if approve:
                payload |= {"paid": self.fmt(task_pricing(task).payout, task.asset), "asset": task.asset}
                events.append((row.worker_id, "task.assignment_approved", payload))
            else:
                events.append((row.worker_id, "task.assignment_rejected", payload | {"reason": reason}))
        record_events(connection, events, now)

    def release_open_slots(self, session: LedgerSession, task_rows: list[Any], now: int) -> int:
        """Void the holds of slots nobody holds (open, or taken and timed out)."""
        connection = session.connection
        ids = [t.id for t in task_rows]
        rows = connection.execute(
            self.locked(
                select(task_assignments).where(
                    task_assignments.c.task_id.in_(ids),
                    or_(
                        task_assignments.c.status == str(S.OPEN),
                        and_(
                            task_assignments.c.status == str(S.ACCEPTED), task_assignments.c.expires_at <= now
                        ),
                    ),
                )
            )
        ).all()
        return self.release(session, rows, now)

    def release(self, session: LedgerSession, rows: Sequence[Any], now: int) -> int:
        if not rows:
            return 0
        results = session.create_transfers(
            [release_transfer(derived_id("task-release", row.id), int_id(row.hold_id)) for row in rows]
        )
        expect_ok(results, f"releasing {len(rows)} holds")
        session.connection.execute(
            update(task_assignments)
            .where(task_assignments.c.id.in_([row.id for row in rows]))
            .values(status=str(S.RELEASED), updated_at=now)
        )
        return len(rows)


__all__ = ["TaskSettling"]
