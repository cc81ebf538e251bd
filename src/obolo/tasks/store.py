"""What every task use case shares: the unit of work, rows read (and locked) by id, the
views built from them, and a worker's reputation. The use-case modules (`employer`, `worker`,
`operator`, `jobs`, `reads`) build on `TaskStore`; nothing else should."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, func, select

from obolo.adapters.clock import Clock
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema_tasks import task_assignments, task_disputes, tasks
from obolo.adapters.db.transactions import run_in_transaction
from obolo.ledger import Ledger, LedgerSession
from obolo.money import format_units
from obolo.settings import Settings
from obolo.tasks.errors import AssignmentNotFound, NotTheEmployer, TaskNotFound
from obolo.tasks.model import (
    HELD,
    Accounts,
    AssignmentStatus,
    DisputeStatus,
    Pricing,
    Reputation,
    ReviewRecord,
    TaskStatus,
    fair_pay,
    reputation,
)
from obolo.tasks.views import Assignment, Dispute, Task, assignment_of
from obolo.wallets.errors import InsufficientFunds
from obolo.wallets.model import PlatformAccount
from obolo.wallets.service import WalletService

T = TypeVar("T")
S = AssignmentStatus


def uuid_text(value: int) -> str:
    return str(uuid.UUID(int=value))


def int_id(value: bytes) -> int:
    return int.from_bytes(value, "big")


def id_bytes(value: int) -> bytes:
    return value.to_bytes(16, "big")


def task_pricing(task: Any) -> Pricing:
    """The task's own prices, fixed when it was posted (settings may change later)."""
    return Pricing(task.reward, task.fee, task.payout_fee)


def task_accounts(task: Any) -> Accounts:
    return Accounts(
        task.asset,
        int_id(task.wallet_account_id),
        int_id(task.escrow_account_id),
        PlatformAccount.FEE_REVENUE.account_id(task.asset),
    )


class TaskStore:
    """The dependencies and row helpers of the task use cases."""

    def __init__(
        self, engine: Engine, ledger: Ledger, clock: Clock, wallets: WalletService, settings: Settings
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.wallets = wallets
        self.settings = settings

    def read(self, work: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, work, read_only=True)

    def locked(self, query: Select[Any], *, skip: bool = False, of: Any = None) -> Select[Any]:
        if is_sqlite(self.engine):
            return query  # SQLite has one writer at a time; the transaction is the lock
        return query.with_for_update(skip_locked=skip, of=of)

    def task_row(self, connection: Connection, task_id: str, *, lock: bool = False) -> Any:
        query = select(tasks).where(tasks.c.id == task_id)
        row = connection.execute(self.locked(query) if lock else query).first()
        if row is None:
            raise TaskNotFound("no such task", task_id=task_id)
        return row

    def employer_task(self, connection: Connection, employer_id: str, task_id: str) -> Any:
        row = self.task_row(connection, task_id, lock=True)
        if row.employer_id != employer_id:
            raise NotTheEmployer("only the task's employer may do this", task_id=task_id)
        return row

    def fmt(self, units: int, asset: str) -> str:
        return format_units(units, self.wallets.asset(asset))

    def task_view(self, connection: Connection, row: Any) -> Task:
        counts = {
            status: count
            for status, count in connection.execute(
                select(task_assignments.c.status, func.count())
                .where(task_assignments.c.task_id == row.id)
                .group_by(task_assignments.c.status)
            ).all()
        }
        pricing = task_pricing(row)
        seconds = [
            s
            for (s,) in connection.execute(
                select(task_assignments.c.seconds_spent).where(
                    task_assignments.c.task_id == row.id, task_assignments.c.seconds_spent.is_not(None)
                )
            ).all()
        ]
        pay = fair_pay(
            pricing.payout, seconds, self.settings.task_fair_pay_samples, self.settings.task_min_hourly
        )
        held = sum(counts.get(str(status), 0) for status in HELD) * pricing.hold
        return Task(
            row.id, row.employer_id, row.asset, row.title, row.instructions, pricing, row.assignments,
            row.time_allowed_seconds, row.auto_approve_seconds, row.deadline, row.min_approval_rate_bp,
            row.min_approved, TaskStatus(row.status), row.created_at, row.closed_at, counts, held, pay,
        )  # fmt: skip

    def worker_accounts(self, session: LedgerSession, worker_ids: set[str], asset: str) -> dict[str, int]:
        """Each worker's wallet account in `asset`, created for those who have none yet."""
        found = self.wallets.wallets_of(session, worker_ids, asset)
        return {user_id: wallet.account_id for user_id, wallet in found.items()}

    def insufficient(
        self, session: LedgerSession, account_id: int, asset: str, needed: int
    ) -> InsufficientFunds:
        (account,) = session.lookup_accounts([account_id])
        return InsufficientFunds(asset, self.fmt(needed, asset), self.fmt(account.available, asset))

    def reputation_of(self, connection: Connection, worker_id: str, now: int) -> Reputation:
        rows = connection.execute(
            select(
                task_assignments.c.status,
                task_assignments.c.reviewed_at,
                tasks.c.employer_id,
                task_disputes.c.status.label("dispute"),
            )
            .join(tasks, tasks.c.id == task_assignments.c.task_id)
            .outerjoin(task_disputes, task_disputes.c.assignment_id == task_assignments.c.id)
            .where(
                task_assignments.c.worker_id == worker_id,
                task_assignments.c.status.in_([str(S.APPROVED), str(S.REJECTED)]),
            )
        ).all()
        records = [
            ReviewRecord(
                row.employer_id,
                row.status == S.APPROVED,
                row.reviewed_at or 0,
                final=row.dispute == DisputeStatus.UPHELD,
            )
            for row in rows
        ]
        return reputation(
            records,
            now,
            self.settings.task_dispute_window_seconds,
            self.settings.task_rejections_per_employer,
        )

    def assignment_locked(self, connection: Connection, assignment_id: str) -> Any:
        row = connection.execute(
            self.locked(select(task_assignments).where(task_assignments.c.id == assignment_id))
        ).first()
        if row is None:
            raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
        return row

    def assignment_view(self, connection: Connection, assignment_id: str) -> Assignment:
        row = connection.execute(select(task_assignments).where(task_assignments.c.id == assignment_id)).one()
        return self.with_disputes(connection, [row])[0]

    def assignments_by_id(self, connection: Connection, ids: list[str]) -> list[Assignment]:
        rows = connection.execute(select(task_assignments).where(task_assignments.c.id.in_(ids))).all()
        order = {aid: index for index, aid in enumerate(ids)}
        return sorted(self.with_disputes(connection, rows), key=lambda a: order[a.id])

    def with_disputes(self, connection: Connection, rows: Sequence[Any]) -> list[Assignment]:
        rejected = [r.id for r in rows if r.status in (S.REJECTED, S.APPROVED)]
        disputes: dict[str, str] = {}
        if rejected:
            disputes = {
                aid: status
                for aid, status in connection.execute(
                    select(task_disputes.c.assignment_id, task_disputes.c.status).where(
                        task_disputes.c.assignment_id.in_(rejected)
                    )
                ).all()
            }
        return [assignment_of(r, disputes.get(r.id)) for r in rows]

    def dispute_view(self, connection: Connection, assignment_id: str) -> Dispute:
        row = connection.execute(
            select(task_disputes, task_assignments.c.task_id, task_assignments.c.reason, tasks.c.employer_id)
            .join(task_assignments, task_assignments.c.id == task_disputes.c.assignment_id)
            .join(tasks, tasks.c.id == task_assignments.c.task_id)
            .where(task_disputes.c.assignment_id == assignment_id)
        ).one()
        return Dispute(
            row.assignment_id, row.task_id, row.worker_id, row.employer_id, row.message, row.reason,
            DisputeStatus(row.status), row.opened_at, row.decided_at, row.note,
        )  # fmt: skip


__all__ = ["TaskStore", "id_bytes", "int_id", "task_accounts", "task_pricing", "uuid_text"]
