"""What task transfers mean in a person's wallet history: an employer's escrow holds and
their settlement, a worker's rewards and bonuses (see obolo.wallets.activity)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from obolo.adapters.db.schema_tasks import task_assignments, task_bonuses, tasks
from obolo.adapters.ids import derived_id
from obolo.ledger import Transfer
from obolo.tasks.model import TransferCode
from obolo.wallets.activity import Described, Text


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
                out[int.from_bytes(row.hold_id, "big")] = _said(
                    "task", Text.of("Task paid: {title}", title=row.title),
                    hold=Text.of("Reserved for task: {title}", title=row.title),
                    release=Text.of("Released from task: {title}", title=row.title),
                )  # fmt: skip
            if row.worker_id == user_id:
                for reason in ("task-approve", "task-overturn"):
                    out[derived_id(reason, row.id, "pay")] = _said(
                        "reward", Text.of("Reward: {title}", title=row.title)
                    )
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
                out[pay] = _said("bonus", Text.of("Bonus: {title}", title=bonus.title))
            if fee in ids:
                out[fee] = _said("fee", Text.of("Fee: bonus for {title}", title=bonus.title))
    return out


def _said(kind: str, text: Text, *, hold: Text | None = None, release: Text | None = None) -> Described:
    """A description in English, with its structured form for translation."""
    return Described(
        kind,
        text.render(),
        hold=hold.render() if hold else None,
        release=release.render() if release else None,
        text=text,
        hold_text=hold,
        release_text=release,
    )
