"""Claiming, running and recording jobs. Every claim and every record is its own short
transaction; the job's work runs outside them, in its own transactions."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update

from obolo.adapters.clock import Clock
from obolo.adapters.db.engine import is_sqlite
from obolo.adapters.db.schema_jobs import jobs
from obolo.adapters.db.transactions import run_in_transaction
from obolo.jobs.model import (
    Job,
    JobState,
    next_run_after_failure,
    next_run_after_success,
    short_error,
)


def worker_name() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is new)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobRunner:
    def __init__(self, engine: Engine, clock: Clock, jobs_: Sequence[Job], owner: str | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.jobs = {job.name: job for job in jobs_}
        self.owner = owner or worker_name()
        self._registered = False

    # -- the table ---------------------------------------------------------------------------
    def register(self) -> None:
        """Make sure every job has its row (the interval follows the code on each start)."""

        def work(connection: Connection) -> None:
            known = set(connection.execute(select(jobs.c.name)).scalars())
            now = self.clock()
            for job in self.jobs.values():
                if job.name in known:
                    connection.execute(
                        update(jobs).where(jobs.c.name == job.name).values(every_seconds=job.every_seconds)
                    )
                else:
                    connection.execute(
                        insert(jobs).values(
                            name=job.name, every_seconds=job.every_seconds, next_run_at=now,
                            last_items=0, runs=0, failures=0, consecutive_failures=0,
                        )
                    )  # fmt: skip

        run_in_transaction(self.engine, work)
        self._registered = True

    def claim(self) -> Job | None:
        """Take the most overdue job whose lease is free, or None. On PostgreSQL rows other
        workers are claiming are skipped, not waited for."""
        now = self.clock()

        def work(connection: Connection) -> str | None:
            query = (
                select(jobs.c.name)
                .where(
                    jobs.c.name.in_(list(self.jobs)),
                    jobs.c.next_run_at <= now,
                    or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now),
                )
                .order_by(jobs.c.next_run_at)
                .limit(1)
            )
            if not is_sqlite(self.engine):
                query = query.with_for_update(skip_locked=True)
            name = connection.execute(query).scalar_one_or_none()
            if name is None:
                return None
            lease = self.jobs[name].lease_seconds * 1_000_000_000
            connection.execute(
                update(jobs)
                .where(jobs.c.name == name)
                .values(
                    lease_owner=self.owner,
                    lease_until=now + lease,
                    last_started_at=now,
                    last_status="running",
                )
            )
            return str(name)

        name = run_in_transaction(self.engine, work)
        return None if name is None else self.jobs[name]

    def _finish(self, job: Job, items: int, error: BaseException | None) -> None:
        now = self.clock()

        def work(connection: Connection) -> None:
            row = connection.execute(select(jobs).where(jobs.c.name == job.name).with_for_update()).one()
            if row.lease_owner != self.owner:
                return  # our lease ran out and another worker took the job: its record stands
            values: dict[str, Any] = {
                "lease_owner": None, "lease_until": None, "last_finished_at": now, "runs": row.runs + 1,
            }  # fmt: skip
            if error is None:
                values |= {
                    "last_status": "ok", "last_error": None, "last_items": items, "consecutive_failures": 0,
                    "next_run_at": next_run_after_success(now, job.every_seconds),
                }  # fmt: skip
            else:
                failures = row.consecutive_failures + 1
                values |= {
                    "last_status": "failed", "last_error": short_error(error), "last_items": 0,
                    "failures": row.failures + 1, "consecutive_failures": failures,
                    "next_run_at": next_run_after_failure(now, job.every_seconds, failures),
                }  # fmt: skip
            connection.execute(update(jobs).where(jobs.c.name == job.name).values(**values))

        run_in_transaction(self.engine, work)

    # -- running -----------------------------------------------------------------------------
    def run_one(self) -> tuple[str, int, BaseException | None] | None:
        """Claim and run one due job; (name, items, error) or None when nothing is due."""
        if not self._registered:
            self.register()
        job = self.claim()
        if job is None:
            return None
        try:
            items = job.run()
        except Exception as error:  # a failed run is recorded and retried with backoff
            self._finish(job, 0, error)
            return job.name, 0, error
        self._finish(job, items, None)
        return job.name, items, None

    def run_due(self, limit: int = 100) -> list[tuple[str, int, BaseException | None]]:
        """Run jobs until none is due (at most `limit` runs)."""
        done = []
        for _ in range(limit):
            outcome = self.run_one()
            if outcome is None:
                break
            done.append(outcome)
        return done

    def run_forever(self, stop: threading.Event, idle: float = 0.5) -> None:
        while not stop.is_set():
            try:
                ran = self.run_one()
            except Exception:  # the database away for a moment: try again shortly
                ran = None
            if ran is None:
                stop.wait(idle)

    def states(self) -> list[JobState]:
        return states(self.engine)


def states(engine: Engine) -> list[JobState]:
    """Every job's row, for the operator's console."""

    def work(connection: Connection) -> list[JobState]:
        rows = connection.execute(select(jobs).order_by(jobs.c.name)).all()
        return [JobState(**row._mapping) for row in rows]

    return run_in_transaction(engine, work, read_only=True)
