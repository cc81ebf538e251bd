"""What task transfers mean in a person's wallet history: an employer's escrow holds and
their settlement, a worker's rewards and bonuses (see obolo.wallets.activity)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from obolo.adapters.db.schema_tasks import task_assignments, task_bonuses, tasks
from obolo.adapters.ids import derived_id
from obolo.ledger import Transfer
from obolo.tasks.model import TransferCode
from obolo.wallets.activity import Described


def describe_task_transfers(
    connection: Connection, user_id: str, transfers: Sequence[Transfer]
) -> dict[int, Described]:
    """Holds by the assignment's hold id; rewards and bonuses by the ids their
    assignment or bonus derives (the person's own rows only): at most two queries."""
    codes = {t.code for t in transfers}
    ids = {t.id for t in transfers}
    out: dict[int, Described] = {}
    holds = [t.id.to_bytes(16, "big") for t in transfers if t.code == int(TransferCode.TASK_HOLD)]
    mine = task_assignments.c.worker_id == user_id if int(TransferCode.TASK_PAYOUT) in codes else None
    if holds or mine is not None:
        where = [c for c in (task_assignments.c.hold_id.in_(holds) if holds else None, mine) if c is not None]
        rows = connection.execute(
            select(task_assignments.c.id, task_assignments.c.hold_id, task_assignments.c.worker_id,
                   tasks.c.title, tasks.c.employer_id)
            .join(tasks, tasks.c.id == task_assignments.c.task_id)
            .where(or_(*where))
        ).all()  # fmt: skip
        for row in rows:
            if row.employer_id == user_id:
                out[int.from_bytes(row.hold_id, "big")] = Described(
                    "task", f"Task paid: {row.title}", hold=f"Reserved for task: {row.title}",
                    release=f"Released from task: {row.title}",
                )  # fmt: skip
            if row.worker_id == user_id:
                for reason in ("task-approve", "task-overturn"):
                    out[derived_id(reason, row.id, "pay")] = Described("reward", f"Reward: {row.title}")
    if int(TransferCode.TASK_BONUS) in codes or int(TransferCode.FEE) in codes:
        bonuses = connection.execute(
            select(task_bonuses.c.id, task_bonuses.c.worker_id, tasks.c.title, tasks.c.employer_id)
            .join(task_assignments, task_assignments.c.id == task_bonuses.c.assignment_id)
            .join(tasks, tasks.c.id == task_assignments.c.task_id)
            .where(or_(task_bonuses.c.worker_id == user_id, tasks.c.employer_id == user_id))
        ).all()  # fmt: skip
        for bonus in bonuses:
            pay, fee = derived_id("task-bonus", bonus.id, "pay"), derived_id("task-bonus", bonus.id, "fee")
            if pay in ids:
                out[pay] = Described("bonus", f"Bonus: {bonus.title}")
            if fee in ids:
                out[fee] = Described("fee", f"Fee: bonus for {bonus.title}")
    return out
