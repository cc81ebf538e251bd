"""Labels the task pages show beside the service's records: people's names and task
titles, fetched in one query per page instead of one per row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from obolo.adapters.db.schema import users
from obolo.adapters.db.schema_tasks import tasks
from obolo.adapters.db.transactions import run_in_transaction


@dataclass(frozen=True, slots=True)
class TaskLabel:
    id: str
    title: str
    asset: str
    employer_id: str
    reward: int
    payout_fee: int

    @property
    def payout(self) -> int:
        return self.reward - self.payout_fee


def names(engine: Engine, user_ids: Iterable[str]) -> dict[str, str]:
    """Display names by user id (unknown ids are left out)."""
    wanted = sorted({u for u in user_ids if u})
    if not wanted:
        return {}
    rows = run_in_transaction(
        engine,
        lambda c: c.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(wanted))).all(),
        read_only=True,
    )
    return {row.id: row.display_name for row in rows}


def task_labels(engine: Engine, task_ids: Iterable[str]) -> dict[str, TaskLabel]:
    """Title, asset and pay of each task, by id."""
    wanted = sorted(set(task_ids))
    if not wanted:
        return {}
    query = select(
        tasks.c.id, tasks.c.title, tasks.c.asset, tasks.c.employer_id, tasks.c.reward, tasks.c.payout_fee
    ).where(tasks.c.id.in_(wanted))
    rows = run_in_transaction(engine, lambda c: c.execute(query).all(), read_only=True)
    return {row.id: TaskLabel(*row) for row in rows}
