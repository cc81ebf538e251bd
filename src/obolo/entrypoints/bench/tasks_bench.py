"""`obolo bench tasks`: approving N submissions in one bulk review (one ledger batch)
beside the baseline of approving the same number one review at a time, in the same run."""

from __future__ import annotations

import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from obolo.adapters.clock import NS_PER_SECOND
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema import users
from obolo.adapters.ids import new_id
from obolo.bootstrap import Platform, build
from obolo.money import EUR, Amount
from obolo.settings import Settings
from obolo.tasks.model import Terms
from obolo.tasks.service import Decision


@dataclass(frozen=True, slots=True)
class TasksFigure:
    database: str
    submissions: int
    bulk_seconds: float
    bulk_commits: int
    single_seconds: float

    @property
    def bulk_per_second(self) -> float:
        return self.submissions / self.bulk_seconds

    @property
    def single_per_second(self) -> float:
        return self.submissions / self.single_seconds

    @property
    def ratio(self) -> float:
        return self.bulk_per_second / self.single_per_second


def _submitted(platform: Platform, employer: str, workers: list[str], key: str) -> tuple[str, list[str]]:
    now = platform.clock()
    terms = Terms(
        title="Bench",
        instructions="Answer yes",
        reward=10_000,
        assignments=len(workers),
        time_allowed_seconds=3600,
        deadline=now + 86_400 * NS_PER_SECOND,
    )
    task = platform.tasks.post_task(employer, terms, "EUR", idempotency_key=key)
    ids = []
    for worker in workers:
        taken = platform.tasks.accept(worker, task.id)
        ids.append(platform.tasks.submit(worker, taken.id, "yes").id)
    return task.id, ids


def measure(url: str | None, submissions: int) -> TasksFigure:
    """Two identical tasks of `submissions` slots, all submitted; one is approved in one
    review, the other one review per submission."""
    if url is not None:
        return _on_postgres(url, submissions)
    with tempfile.TemporaryDirectory() as folder:
        platform = build(Settings(), url=f"sqlite:///{Path(folder) / 'bench.db'}", migrate=True)
        try:
            return _run(platform, submissions)
        finally:
            platform.close()


def _on_postgres(url: str, submissions: int) -> TasksFigure:
    """In a schema of its own, dropped afterwards: the bench never touches real data."""
    from urllib.parse import quote

    from sqlalchemy import text

    from obolo.adapters.db.engine import database_url, make_engine

    schema = f"bench_tasks_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    platform = build(
        Settings(),
        url=database_url(url) + separator + "options=" + quote(f"-csearch_path={schema}"),
        migrate=True,
    )
    try:
        return _run(platform, submissions)
    finally:
        platform.close()
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _run(platform: Platform, submissions: int) -> TasksFigure:
    from obolo.adapters.cards import Card

    employer = new_id()
    workers = [new_id() for _ in range(submissions)]
    with platform.engine.begin() as connection:
        connection.execute(
            insert(users),
            [
                {"id": i, "email": f"{i}@bench.invalid", "password_hash": None, "display_name": "bench",
                 "phone": None, "created_at": 0}
                for i in [employer, *workers]
            ],
        )  # fmt: skip
    card = Card("4242424242424242", 12, 2040, "123")
    needed = 2 * submissions * 11_000
    while needed > 0:
        chunk = min(needed, platform.settings.topup_max)
        platform.wallets.top_up(employer, Amount(max(chunk, platform.settings.topup_min), EUR), card)
        needed -= chunk
    bulk_task, bulk_ids = _submitted(platform, employer, workers, "bench-bulk")
    single_task, single_ids = _submitted(platform, employer, workers, "bench-single")
    commits: list[int] = []

    def committed(_connection: Any) -> None:
        commits.append(1)

    event.listen(platform.engine, "commit", committed)
    started = time.perf_counter()
    platform.tasks.review(employer, bulk_task, [Decision(i, True) for i in bulk_ids])
    bulk = time.perf_counter() - started
    event.remove(platform.engine, "commit", committed)
    started = time.perf_counter()
    for assignment_id in single_ids:
        platform.tasks.review(employer, single_task, [Decision(assignment_id, True)])
    single = time.perf_counter() - started
    database = "SQLite" if is_sqlite(platform.engine) else "PostgreSQL"
    return TasksFigure(database, submissions, bulk, len(commits), single)


def markdown(figures: list[TasksFigure], command: str, machine: str) -> str:
    lines = [
        "## Tasks",
        "",
        f"Measured on {machine} with `{command}`: approving N submitted assignments in one bulk",
        "review (every approval's post, payout and fee transfers in one ledger batch, one",
        "transaction) beside approving the same number one review call at a time.",
        "",
        "| database | submissions | bulk approvals/s | one-by-one approvals/s | ratio | bulk commits |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        lines.append(
            f"| {f.database} | {f.submissions:,} | {f.bulk_per_second:,.0f} | {f.single_per_second:,.0f} "
            f"| {f.ratio:.1f}x | {f.bulk_commits} |"
        )
    return "\n".join(lines) + "\n"
