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

from obolo.tasks.employer import EmployerTasks
from obolo.tasks.jobs import TaskJobs
from obolo.tasks.operator import OperatorTasks
from obolo.tasks.reads import TaskReads
from obolo.tasks.views import Assignment, Bonus, Decision, Dispute, Task, WorkerRecord
from obolo.tasks.worker import WorkerTasks


class TaskService(EmployerTasks, WorkerTasks, OperatorTasks, TaskJobs, TaskReads):
    """Every task use case behind one name, as the API, pages and jobs call them; each
    lives in the module of who does it (`employer`, `worker`, `operator`, `jobs`, `reads`)."""


__all__ = ["Assignment", "Bonus", "Decision", "Dispute", "Task", "TaskService", "WorkerRecord"]
