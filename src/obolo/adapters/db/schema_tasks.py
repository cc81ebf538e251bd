"""Tables of the tasks product, on the one shared metadata (see `schema`).

A task's money lives in the ledger: one pending hold per assignment slot, from the
employer's wallet to the task's escrow account. These rows say which hold belongs to
which slot and where each slot stands; amounts here are copies for display, the ledger
is the truth.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from obolo.adapters.db.metadata import id_column, metadata

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("employer_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("asset", String(12), nullable=False),
    Column("title", String(200), nullable=False),
    Column("instructions", Text, nullable=False),
    # Per assignment, in units: what the worker earns, the employer's fee on top, and the
    # platform's fee taken from the reward.
    Column("reward", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("payout_fee", BigInteger, nullable=False),
    Column("assignments", Integer, nullable=False),
    Column("time_allowed_seconds", Integer, nullable=False),
    Column("auto_approve_seconds", Integer, nullable=False),
    Column("deadline", BigInteger, nullable=False),
    Column("min_approval_rate_bp", Integer, nullable=False),
    Column("min_approved", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    id_column("escrow_account_id", nullable=False),
    id_column("wallet_account_id", nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("closed_at", BigInteger, nullable=True),
    # When the employer was last told the task pays below the platform's minimum rate.
    Column("pay_notice_at", BigInteger, nullable=True),
    CheckConstraint("reward > 0 AND fee >= 0 AND payout_fee >= 0 AND payout_fee <= reward", name="amounts"),
    CheckConstraint("assignments > 0", name="assignments_positive"),
    Index("ix_tasks_status_deadline", "status", "deadline"),
    Index("ix_tasks_employer", "employer_id", "created_at"),
)

task_assignments = Table(
    "task_assignments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("task_id", String(36), ForeignKey("tasks.id"), nullable=False),
    Column("slot", Integer, nullable=False),
    # The pending transfer that holds this slot's reward and fee.
    id_column("hold_id", nullable=False),
    Column("status", String(16), nullable=False),
    Column("worker_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("accepted_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("submitted_at", BigInteger, nullable=True),
    Column("seconds_spent", BigInteger, nullable=True),
    Column("answer", Text, nullable=True),
    # When silence becomes approval.
    Column("due_at", BigInteger, nullable=True),
    Column("reviewed_at", BigInteger, nullable=True),
    Column("reviewed_by", String(16), nullable=True),
    Column("reason", Text, nullable=True),
    Column("paid", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    CheckConstraint("slot >= 0", name="slot_not_negative"),
    Index("ix_task_assignments_task_slot", "task_id", "slot", unique=True),
    # Finding a task's first free slot without walking past the taken ones.
    Index("ix_task_assignments_task_status", "task_id", "status", "slot"),
    Index("ix_task_assignments_due", "status", "due_at"),
    Index("ix_task_assignments_expiry", "status", "expires_at"),
    Index("ix_task_assignments_worker", "worker_id", "status"),
)

task_disputes = Table(
    "task_disputes",
    metadata,
    # One dispute per rejection: the assignment is the key.
    Column("assignment_id", String(36), ForeignKey("task_assignments.id"), primary_key=True),
    Column("worker_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("decided_at", BigInteger, nullable=True),
    Column("decided_by", String(36), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_task_disputes_status", "status", "opened_at"),
)

task_bonuses = Table(
    "task_bonuses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("assignment_id", String(36), ForeignKey("task_assignments.id"), nullable=False),
    Column("worker_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("reason", String(280), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("amount > 0 AND fee >= 0", name="amounts"),
    Index("ix_task_bonuses_assignment", "assignment_id"),
)
