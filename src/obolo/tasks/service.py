"""Task use cases: each one function, one transaction, money moved only by ledger
transfers in that same transaction (see `model` for the flow of money).

Idempotency: posting a task and paying a bonus take the caller's idempotency key, which
fixes the task or bonus id; every ledger transfer id is derived from the slot or bonus
it belongs to, so a retry, even one racing the first, moves money once.

Concurrency: use cases that change a task lock its row first (`FOR UPDATE`; SQLite
serializes writers anyway), then re-read the slots they change under that lock. The
background jobs claim due slots with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
workers never take the same slot and never wait on an employer reviewing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, and_, bindparam, func, insert, or_, select, update

from obolo.adapters.clock import Clock
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema_tasks import task_assignments, task_bonuses, task_disputes, tasks
from obolo.adapters.db.transactions import run_in_transaction
from obolo.adapters.ids import derived_id, keyed_id
from obolo.errors import InvalidRequest
from obolo.ledger import (
    MAX_BATCH,
    Account,
    AccountFlags,
    AccountResult,
    Ledger,
    LedgerSession,
    Transfer,
    TransferResult,
)
from obolo.money import Amount, AssetMismatch, format_units
from obolo.settings import Settings
from obolo.tasks.errors import (
    AlreadySubmitted,
    AlreadyTookPart,
    AssignmentExpired,
    AssignmentNotFound,
    BonusNotAllowed,
    DisputeDecided,
    DisputeNotAllowed,
    DisputeNotFound,
    EmployerCannotPay,
    InvalidAnswer,
    InvalidReview,
    NoAssignmentLeft,
    NotQualified,
    NotReviewable,
    NotTheEmployer,
    OwnTask,
    ReasonRequired,
    TaskNotFound,
    TaskNotOpen,
)
from obolo.tasks.model import (
    HELD,
    MAX_ANSWER_CHARS,
    MAX_REVIEW,
    NS_PER_SECOND,
    AccountCode,
    Accounts,
    AssignmentStatus,
    DisputeStatus,
    FairPay,
    Pricing,
    Reputation,
    Reviewer,
    ReviewRecord,
    TaskStatus,
    Terms,
    TransferCode,
    approval_transfers,
    bonus_fee,
    can_move,
    check_terms,
    direct_transfers,
    fair_pay,
    hold_transfers,
    price,
    qualifies,
    release_transfer,
    reputation,
)
from obolo.wallets.errors import InsufficientFunds
from obolo.wallets.model import PlatformAccount
from obolo.wallets.service import WalletService
from obolo.webhooks.outbox import record_event, record_events

T = TypeVar("T")
S = AssignmentStatus
_R = TransferResult
_DONE = (_R.OK, _R.EXISTS)


# -- what callers see ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    employer_id: str
    asset: str
    title: str
    instructions: str
    pricing: Pricing
    assignments: int
    time_allowed_seconds: int
    auto_approve_seconds: int
    deadline: int
    min_approval_rate_bp: int
    min_approved: int
    status: TaskStatus
    created_at: int
    closed_at: int | None
    #: Slots by status ("open", "accepted", "submitted", ...).
    counts: dict[str, int]
    #: What the ledger still holds for this task's slots, in units.
    held: int
    fair_pay: FairPay


@dataclass(frozen=True, slots=True)
class Assignment:
    id: str
    task_id: str
    slot: int
    status: AssignmentStatus
    worker_id: str | None
    accepted_at: int | None
    expires_at: int | None
    submitted_at: int | None
    seconds_spent: int | None
    answer: str | None
    due_at: int | None
    reviewed_at: int | None
    reviewed_by: str | None
    reason: str | None
    paid: int | None
    dispute: DisputeStatus | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One item of a bulk review: approve, or reject with a reason."""

    assignment_id: str
    approve: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Bonus:
    id: str
    assignment_id: str
    worker_id: str
    asset: str
    amount: int
    fee: int
    reason: str | None
    created_at: int


@dataclass(frozen=True, slots=True)
class Dispute:
    assignment_id: str
    task_id: str
    worker_id: str
    employer_id: str
    message: str
    reason: str | None
    status: DisputeStatus
    opened_at: int
    decided_at: int | None
    note: str | None


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    reputation: Reputation
    #: Paid to the worker's wallet by tasks (rewards and bonuses), per asset.
    earned: dict[str, int]
    #: Submitted and waiting for review (or for silence to approve them), per asset.
    awaiting: dict[str, int]


def _uuid_text(value: int) -> str:
    return str(uuid.UUID(int=value))


def _key(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _bytes(value: int) -> bytes:
    return value.to_bytes(16, "big")


def _assignment(row: Any, dispute: str | None = None) -> Assignment:
    return Assignment(
        row.id, row.task_id, row.slot, S(row.status), row.worker_id, row.accepted_at, row.expires_at,
        row.submitted_at, row.seconds_spent, row.answer, row.due_at, row.reviewed_at, row.reviewed_by,
        row.reason, row.paid, DisputeStatus(dispute) if dispute else None,
    )  # fmt: skip


def _reviewed_as(row: Any, decision: Decision) -> bool:
    """Was the assignment reviewed by its employer as `decision` says?"""
    if row.reviewed_by != Reviewer.EMPLOYER:
        return False
    if decision.approve:
        return bool(row.status == S.APPROVED)
    return bool(row.status == S.REJECTED and row.reason == decision.reason)


def _pricing(task: Any) -> Pricing:
    """The task's own prices, fixed when it was posted (settings may change later)."""
    return Pricing(task.reward, task.fee, task.payout_fee)


def _accounts(task: Any) -> Accounts:
    return Accounts(
        task.asset,
        _key(task.wallet_account_id),
        _key(task.escrow_account_id),
        PlatformAccount.FEE_REVENUE.account_id(task.asset),
    )


class TaskService:
    def __init__(
        self, engine: Engine, ledger: Ledger, clock: Clock, wallets: WalletService, settings: Settings
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.clock = clock
        self.wallets = wallets
        self.settings = settings

    # -- plumbing ---------------------------------------------------------------------------
    def _read(self, work: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, work, read_only=True)

    def _locked(self, query: Select[Any], *, skip: bool = False, of: Any = None) -> Select[Any]:
        if is_sqlite(self.engine):
            return query  # SQLite has one writer at a time; the transaction is the lock
        return query.with_for_update(skip_locked=skip, of=of)

    def _task_row(self, connection: Connection, task_id: str, *, lock: bool = False) -> Any:
        query = select(tasks).where(tasks.c.id == task_id)
        row = connection.execute(self._locked(query) if lock else query).first()
        if row is None:
            raise TaskNotFound("no such task", task_id=task_id)
        return row

    def _employer_task(self, connection: Connection, employer_id: str, task_id: str) -> Any:
        row = self._task_row(connection, task_id, lock=True)
        if row.employer_id != employer_id:
            raise NotTheEmployer("only the task's employer may do this", task_id=task_id)
        return row

    def _fmt(self, units: int, asset: str) -> str:
        return format_units(units, self.wallets.asset(asset))

    def _task(self, connection: Connection, row: Any) -> Task:
        counts = {
            status: count
            for status, count in connection.execute(
                select(task_assignments.c.status, func.count())
                .where(task_assignments.c.task_id == row.id)
                .group_by(task_assignments.c.status)
            ).all()
        }
        pricing = _pricing(row)
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

    def _worker_accounts(self, session: LedgerSession, worker_ids: set[str], asset: str) -> dict[str, int]:
        """Each worker's wallet account in `asset`, created for those who have none yet."""
        found = self.wallets.wallets_of(session, worker_ids, asset)
        return {user_id: wallet.account_id for user_id, wallet in found.items()}

    def _insufficient(
        self, session: LedgerSession, account_id: int, asset: str, needed: int
    ) -> InsufficientFunds:
        (account,) = session.lookup_accounts([account_id])
        return InsufficientFunds(asset, self._fmt(needed, asset), self._fmt(account.available, asset))

    def _reputation(self, connection: Connection, worker_id: str, now: int) -> Reputation:
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

    # -- employers ----------------------------------------------------------------------------
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
                return self._task(connection, existing)
            wallet = self.wallets.wallet(session, employer_id, asset.code)
            (account,) = session.lookup_accounts([wallet.account_id])
            if account.available < total:
                raise self._insufficient(session, wallet.account_id, asset.code, total)
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
            if created != [AccountResult.OK]:
                raise RuntimeError(f"escrow of task {task_id}: {created}")
            accounts = Accounts(
                asset.code, wallet.account_id, escrow, PlatformAccount.FEE_REVENUE.account_id(asset.code)
            )
            hold_ids = [derived_id("task-hold", task_id, str(slot)) for slot in range(terms.assignments)]
            results = session.create_transfers(hold_transfers(hold_ids, accounts, pricing))
            if _R.EXCEEDS_CREDITS in results:
                # Spent between our look and the holds: the whole transaction rolls back.
                raise self._insufficient(session, wallet.account_id, asset.code, total)
            if any(r not in _DONE for r in results):
                raise RuntimeError(f"holds of task {task_id} refused: {set(results)}")
            connection.execute(
                insert(tasks).values(
                    id=task_id, employer_id=employer_id, asset=asset.code, title=terms.title.strip(),
                    instructions=terms.instructions, reward=pricing.reward, fee=pricing.fee,
                    payout_fee=pricing.payout_fee, assignments=terms.assignments,
                    time_allowed_seconds=terms.time_allowed_seconds,
                    auto_approve_seconds=terms.auto_approve_seconds, deadline=terms.deadline,
                    min_approval_rate_bp=terms.min_approval_rate_bp, min_approved=terms.min_approved,
                    status=str(TaskStatus.OPEN), escrow_account_id=_bytes(escrow),
                    wallet_account_id=_bytes(wallet.account_id), created_at=now,
                )
            )  # fmt: skip
            connection.execute(
                insert(task_assignments),
                [
                    {
                        "id": _uuid_text(derived_id("task-slot", task_id, str(slot))),
                        "task_id": task_id,
                        "slot": slot,
                        "hold_id": _bytes(hold_id),
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
                {"task_id": task_id, "held": self._fmt(total, asset.code), "asset": asset.code},
                now,
            )
            row = connection.execute(select(tasks).where(tasks.c.id == task_id)).one()
            return self._task(connection, row)

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
            task = self._employer_task(connection, employer_id, task_id)
            rows = connection.execute(
                self._locked(
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
                return self._assignments_by_id(connection, wanted)
            if not_submitted:
                raise NotReviewable(
                    "only submitted work can be approved or rejected", assignment_ids=not_submitted[:20]
                )
            items = [(task, row, by_id[row.id].approve, by_id[row.id].reason) for row in rows]
            self._settle(session, items, Reviewer.EMPLOYER, self.clock())
            return self._assignments_by_id(connection, wanted)

        return self.ledger.run(work)

    def _settle(
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
        accounts_of = {asset: self._worker_accounts(session, ids, asset) for asset, ids in workers.items()}
        transfers: list[Transfer] = []
        for task, row, approve, _ in items:
            hold_id = _key(row.hold_id)
            if approve:
                ids = (
                    derived_id("task-approve", row.id, "post"),
                    derived_id("task-approve", row.id, "pay"),
                    derived_id("task-approve", row.id, "fee"),
                )
                worker_account = accounts_of[task.asset][row.worker_id]
                transfers += approval_transfers(ids, hold_id, worker_account, _accounts(task), _pricing(task))
            else:
                transfers.append(release_transfer(derived_id("task-release", row.id), hold_id))
        results = session.create_transfers(transfers)
        if any(r not in _DONE for r in results):
            raise RuntimeError(f"settling {len(items)} assignments refused: {set(results)}")
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
                    paid=_pricing(tasks_by_id[task_id]).payout,
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
                payload |= {"paid": self._fmt(_pricing(task).payout, task.asset), "asset": task.asset}
                events.append((row.worker_id, "task.assignment_approved", payload))
            else:
                events.append((row.worker_id, "task.assignment_rejected", payload | {"reason": reason}))
        record_events(connection, events, now)

    def cancel(self, employer_id: str, task_id: str, idempotency_key: str | None = None) -> Task:
        """Stop the task: slots nobody has taken release their holds now. Work in flight
        keeps its money: accepted slots may still be submitted within their time, and
        submitted work must still be reviewed or is approved by silence. With a key, a
        task already cancelled answers as cancelled (a retry whose answer was lost).
        Raises TaskNotFound, NotTheEmployer, TaskNotOpen."""

        def work(session: LedgerSession) -> Task:
            connection = session.connection
            task = self._employer_task(connection, employer_id, task_id)
            if task.status == TaskStatus.CANCELLED and idempotency_key is not None:
                return self._task(connection, task)
            if task.status != TaskStatus.OPEN:
                raise TaskNotOpen(f"the task is already {task.status}", task_status=task.status)
            now = self.clock()
            self._release_open_slots(session, [task], now)
            connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id)
                .values(status=str(TaskStatus.CANCELLED), closed_at=now)
            )
            return self._task(connection, self._task_row(connection, task_id))

        return self.ledger.run(work)

    def _release_open_slots(self, session: LedgerSession, task_rows: list[Any], now: int) -> int:
        """Void the holds of slots nobody holds (open, or taken and timed out)."""
        connection = session.connection
        ids = [t.id for t in task_rows]
        rows = connection.execute(
            self._locked(
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
        return self._release(session, rows, now)

    def _release(self, session: LedgerSession, rows: Sequence[Any], now: int) -> int:
        if not rows:
            return 0
        results = session.create_transfers(
            [release_transfer(derived_id("task-release", row.id), _key(row.hold_id)) for row in rows]
        )
        if any(r not in _DONE for r in results):
            raise RuntimeError(f"releasing {len(rows)} holds refused: {set(results)}")
        session.connection.execute(
            update(task_assignments)
            .where(task_assignments.c.id.in_([row.id for row in rows]))
            .values(status=str(S.RELEASED), updated_at=now)
        )
        return len(rows)

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
            task = self._employer_task(connection, employer_id, row.task_id)
            if done is not None:
                return Bonus(done.id, done.assignment_id, done.worker_id, task.asset, done.amount, done.fee,
                             done.reason, done.created_at)  # fmt: skip
            if amount.asset.code != task.asset:
                raise AssetMismatch(f"the task pays in {task.asset}")
            if row.status not in (S.SUBMITTED, S.APPROVED, S.REJECTED):
                raise BonusNotAllowed("a bonus goes to work that was submitted", assignment_status=row.status)
            fee = bonus_fee(amount.units, self.settings.task_fee)
            accounts = _accounts(task)
            worker_account = self._worker_accounts(session, {row.worker_id}, task.asset)[row.worker_id]
            ids = (derived_id("task-bonus", bonus_id, "pay"), derived_id("task-bonus", bonus_id, "fee"))
            results = session.create_transfers(
                direct_transfers(ids, worker_account, accounts, amount.units, fee, TransferCode.TASK_BONUS)
            )
            if _R.EXCEEDS_CREDITS in results:
                raise self._insufficient(session, accounts.employer_wallet, task.asset, amount.units + fee)
            if any(r not in _DONE for r in results):
                raise RuntimeError(f"bonus {bonus_id} refused: {set(results)}")
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

    # -- workers ------------------------------------------------------------------------------
    def accept(self, worker_id: str, task_id: str, idempotency_key: str | None = None) -> Assignment:
        """Take one slot of the task for its time allowed (then it is released). With a key,
        a slot this worker holds already answers as taken (a retry whose answer was lost).
        Raises TaskNotFound, OwnTask, TaskNotOpen, AlreadyTookPart, NotQualified,
        NoAssignmentLeft."""

        def work(connection: Connection) -> Assignment:
            task = self._task_row(connection, task_id, lock=True)
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
                    return self._assignment_row(connection, mine.id)
                raise AlreadyTookPart("one assignment per worker per task", assignment_id=mine.id)
            record = self._reputation(connection, worker_id, now)
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
            return self._assignment_row(connection, slot.id)

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
                self._locked(select(task_assignments).where(task_assignments.c.id == assignment_id))
            ).first()
            if row is None or row.worker_id != worker_id:
                raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
            if row.status in (S.SUBMITTED, S.APPROVED, S.REJECTED):
                if idempotency_key is not None and row.answer == answer:
                    return self._assignment_row(connection, assignment_id)
                raise AlreadySubmitted("this assignment was already submitted")
            now = self.clock()
            if row.status != S.ACCEPTED or now > row.expires_at:
                raise AssignmentExpired("the time allowed for this assignment has passed")
            task = self._task_row(connection, row.task_id)
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
            return self._assignment_row(connection, assignment_id)

        return run_in_transaction(self.engine, work)

    def _tell_if_underpaid(self, connection: Connection, task: Any, now: int) -> None:
        """Once a task's effective hourly pay is known to fall below the platform's
        minimum, tell its employer (once) and suggest the bonus that would fix it."""
        if task.pay_notice_at is not None or not self.settings.task_min_hourly:
            return
        pay = self._task(connection, task).fair_pay
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
                "effective_hourly": self._fmt(pay.hourly, task.asset),
                "minimum_hourly": self._fmt(pay.minimum, task.asset),
                "bonus_per_assignment": self._fmt(pay.bonus_to_reach_minimum or 0, task.asset),
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
                self._locked(select(task_assignments).where(task_assignments.c.id == assignment_id))
            ).first()
            if row is None or row.worker_id != worker_id:
                raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
            if row.status != S.REJECTED:
                raise DisputeNotAllowed("only a rejection can be disputed", reason="not_rejected")
            existing = connection.execute(
                select(task_disputes).where(task_disputes.c.assignment_id == assignment_id)
            ).first()
            if existing is not None and idempotency_key is not None and existing.message == message:
                return self._dispute(connection, assignment_id)
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
            return self._dispute(connection, assignment_id)

        return run_in_transaction(self.engine, work)

    # -- operators ---------------------------------------------------------------------------
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
                self._locked(select(task_disputes).where(task_disputes.c.assignment_id == assignment_id))
            ).first()
            if dispute is None:
                raise DisputeNotFound("no dispute on that assignment", assignment_id=assignment_id)
            status = DisputeStatus.OVERTURNED if overturn else DisputeStatus.UPHELD
            ruled = (dispute.status, dispute.decided_by, dispute.note) == (status, operator_id, note)
            if ruled and idempotency_key is not None:
                return self._dispute(connection, assignment_id)
            if dispute.status != DisputeStatus.OPEN:
                raise DisputeDecided(
                    f"the dispute was already {dispute.status}", dispute_status=dispute.status
                )
            now = self.clock()
            row = self._assignment_locked(connection, assignment_id)
            task = self._task_row(connection, row.task_id)
            if overturn:
                assert can_move(S(row.status), S.APPROVED)
                pricing, accounts = _pricing(task), _accounts(task)
                worker_account = self._worker_accounts(session, {row.worker_id}, task.asset)[row.worker_id]
                ids = (derived_id("task-overturn", row.id, "pay"), derived_id("task-overturn", row.id, "fee"))
                results = session.create_transfers(
                    direct_transfers(ids, worker_account, accounts, pricing.payout, pricing.revenue,
                                     TransferCode.TASK_PAYOUT)
                )  # fmt: skip
                if _R.EXCEEDS_CREDITS in results:
                    raise EmployerCannotPay(
                        "the employer's wallet cannot pay this assignment now; the dispute stays open",
                        needed=self._fmt(pricing.hold, task.asset),
                    )
                if any(r not in _DONE for r in results):
                    raise RuntimeError(f"overturn of {row.id} refused: {set(results)}")
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
            return self._dispute(connection, assignment_id)

        return self.ledger.run(work)

    def disputes(self, status: DisputeStatus | None = DisputeStatus.OPEN, limit: int = 100) -> list[Dispute]:
        """Disputes for the operator, oldest first."""

        def work(connection: Connection) -> list[Dispute]:
            query = select(task_disputes.c.assignment_id).order_by(task_disputes.c.opened_at).limit(limit)
            if status is not None:
                query = query.where(task_disputes.c.status == str(status))
            return [self._dispute(connection, aid) for (aid,) in connection.execute(query).all()]

        return self._read(work)

    # -- background jobs -----------------------------------------------------------------------
    def auto_approve_due(self, limit: int = 1_000) -> int:
        """Approve and pay submissions nobody reviewed within their task's delay, in one
        batch. Safe to run from many workers at once: each claims different rows."""
        limit = max(1, min(limit, MAX_REVIEW))

        def work(session: LedgerSession) -> int:
            connection = session.connection
            now = self.clock()
            rows = connection.execute(
                self._locked(
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
            self._settle(session, [(task_rows[r.task_id], r, True, None) for r in rows], Reviewer.AUTO, now)
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
                self._locked(
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
            moved = len(reopen) + self._release(
                session, [r for r in timed_out if r.id not in set(reopen)], now
            )
            due = connection.execute(
                self._locked(
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
                moved += self._release_open_slots(session, [task], now)
                connection.execute(
                    update(tasks)
                    .where(tasks.c.id == task.id)
                    .values(status=str(TaskStatus.CLOSED), closed_at=now)
                )
            return moved

        return self.ledger.run(work)

    # -- reads --------------------------------------------------------------------------------
    def task(self, task_id: str) -> Task:
        """A task as anyone may see it. Raises TaskNotFound."""
        return self._read(lambda c: self._task(c, self._task_row(c, task_id)))

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
                record = self._reputation(connection, viewer_id, now)
                query = query.where(tasks.c.min_approved <= record.approved, tasks.c.employer_id != viewer_id)
                if record.rate_bp is not None:
                    query = query.where(tasks.c.min_approval_rate_bp <= record.rate_bp)
            query = query.order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(limit).offset(offset)
            return [self._task(connection, row) for row in connection.execute(query).all()]

        return self._read(work)

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
            return self._assignment_row(connection, assignment_id)

        return self._read(work)

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
            task = self._task_row(connection, task_id)
            if task.employer_id != employer_id:
                raise NotTheEmployer("only the task's employer sees its submissions", task_id=task_id)
            query = select(task_assignments).where(task_assignments.c.task_id == task_id)
            if status is not None:
                query = query.where(task_assignments.c.status == str(status))
            query = (
                query.order_by(task_assignments.c.slot).limit(max(1, min(limit, MAX_REVIEW))).offset(offset)
            )
            return self._with_disputes(connection, connection.execute(query).all())

        return self._read(work)

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
            return self._with_disputes(connection, connection.execute(query).all())

        return self._read(work)

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
            return WorkerRecord(self._reputation(connection, worker_id, now), dict(earned), dict(awaiting))

        return self._read(work)

    # -- row helpers ---------------------------------------------------------------------------
    def _assignment_locked(self, connection: Connection, assignment_id: str) -> Any:
        row = connection.execute(
            self._locked(select(task_assignments).where(task_assignments.c.id == assignment_id))
        ).first()
        if row is None:
            raise AssignmentNotFound("no such assignment", assignment_id=assignment_id)
        return row

    def _assignment_row(self, connection: Connection, assignment_id: str) -> Assignment:
        row = connection.execute(select(task_assignments).where(task_assignments.c.id == assignment_id)).one()
        return self._with_disputes(connection, [row])[0]

    def _assignments_by_id(self, connection: Connection, ids: list[str]) -> list[Assignment]:
        rows = connection.execute(select(task_assignments).where(task_assignments.c.id.in_(ids))).all()
        order = {aid: index for index, aid in enumerate(ids)}
        return sorted(self._with_disputes(connection, rows), key=lambda a: order[a.id])

    def _with_disputes(self, connection: Connection, rows: Sequence[Any]) -> list[Assignment]:
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
        return [_assignment(r, disputes.get(r.id)) for r in rows]

    def _dispute(self, connection: Connection, assignment_id: str) -> Dispute:
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


__all__ = ["Assignment", "Bonus", "Decision", "Dispute", "Task", "TaskService", "WorkerRecord"]
