"""Tasks as callers see them: frozen values read from rows, and a bulk review's items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obolo.tasks.model import AssignmentStatus, DisputeStatus, FairPay, Pricing, Reputation, TaskStatus

S = AssignmentStatus


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


def assignment_of(row: Any, dispute: str | None = None) -> Assignment:
    return Assignment(
        row.id, row.task_id, row.slot, S(row.status), row.worker_id, row.accepted_at, row.expires_at,
        row.submitted_at, row.seconds_spent, row.answer, row.due_at, row.reviewed_at, row.reviewed_by,
        row.reason, row.paid, DisputeStatus(dispute) if dispute else None,
    )  # fmt: skip


__all__ = ["Assignment", "Bonus", "Decision", "Dispute", "Task", "WorkerRecord", "assignment_of"]
