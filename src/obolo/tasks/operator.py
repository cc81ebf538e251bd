"""What operators do: rule on disputes, and list them."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from obolo.adapters.db.schema_tasks import task_assignments, task_disputes
from obolo.adapters.ids import derived_id
from obolo.ledger import LedgerSession, TransferResult, expect_ok
from obolo.tasks.errors import DisputeDecided, DisputeNotFound, EmployerCannotPay
from obolo.tasks.model import (
    AssignmentStatus,
    DisputeStatus,
    Reviewer,
    TransferCode,
    can_move,
    direct_transfers,
)
from obolo.tasks.store import TaskStore, task_accounts, task_pricing
from obolo.tasks.views import Dispute
from obolo.webhooks.outbox import record_event

S = AssignmentStatus
_R = TransferResult


class OperatorTasks(TaskStore):
    def decide_dispute(
        self,
        operator_id: str,
        assignment_id: str,
        overturn: bool,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Dispute:
        """Rule on a dispute. Overturned, the rejection becomes an approval and the worker
        is paid what approval would have paid, from the employer's wallet (the hold went
        back at rejection). With a key, the same ruling by the same operator made already
        answers as made (a retry whose answer was lost). Raises DisputeNotFound,
        DisputeDecided, EmployerCannotPay."""

        def work(session: LedgerSession) -> Dispute:
            connection = session.connection
            dispute = connection.execute(
                self.locked(select(task_disputes).where(task_disputes.c.assignment_id == assignment_id))
            ).first()
            if dispute is None:
                raise DisputeNotFound("no dispute on that assignment", assignment_id=assignment_id)
            status = DisputeStatus.OVERTURNED if overturn else DisputeStatus.UPHELD
            ruled = (dispute.status, dispute.decided_by, dispute.note) == (status, operator_id, note)
            if ruled and idempotency_key is not None:
                return self.dispute_view(connection, assignment_id)
            if dispute.status != DisputeStatus.OPEN:
                raise DisputeDecided(
                    f"the dispute was already {dispute.status}", dispute_status=dispute.status
                )
            now = self.clock()
            row = self.assignment_locked(connection, assignment_id)
            task = self.task_row(connection, row.task_id)
            if overturn:
                assert can_move(S(row.status), S.APPROVED)
                pricing, accounts = task_pricing(task), task_accounts(task)
                worker_account = self.worker_accounts(session, {row.worker_id}, task.asset)[row.worker_id]
                ids = (derived_id("task-overturn", row.id, "pay"), derived_id("task-overturn", row.id, "fee"))
                results = session.create_transfers(
                    direct_transfers(ids, worker_account, accounts, pricing.payout, pricing.revenue,
                                     TransferCode.TASK_PAYOUT)
                )  # fmt: skip
                if _R.EXCEEDS_CREDITS in results:
                    raise EmployerCannotPay(
                        "the employer's wallet cannot pay this assignment now; the dispute stays open",
                        needed=self.fmt(pricing.hold, task.asset),
                    )
                expect_ok(results, f"overturn of {row.id}")
                connection.execute(
                    update(task_assignments)
                    .where(task_assignments.c.id == row.id)
                    .values(status=str(S.APPROVED), reviewed_at=now, reviewed_by=str(Reviewer.OPERATOR),
                            paid=pricing.payout, updated_at=now)
                )  # fmt: skip
            connection.execute(
                update(task_disputes)
                .where(task_disputes.c.assignment_id == assignment_id)
                .values(status=str(status), decided_at=now, decided_by=operator_id, note=note)
            )
            record_event(
                connection,
                row.worker_id,
                "task.dispute_decided",
                {"assignment_id": assignment_id, "status": str(status)},
                now,
            )
            return self.dispute_view(connection, assignment_id)

        return self.ledger.run(work)

    def disputes(self, status: DisputeStatus | None = DisputeStatus.OPEN, limit: int = 100) -> list[Dispute]:
        """Disputes for the operator, oldest first."""

        def work(connection: Connection) -> list[Dispute]:
            query = select(task_disputes.c.assignment_id).order_by(task_disputes.c.opened_at).limit(limit)
            if status is not None:
                query = query.where(task_disputes.c.status == str(status))
            return [self.dispute_view(connection, aid) for (aid,) in connection.execute(query).all()]

        return self.read(work)


__all__ = ["OperatorTasks"]
