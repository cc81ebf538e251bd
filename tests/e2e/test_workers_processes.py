"""Production shape on PostgreSQL: the API and two job workers as separate processes. One
worker is killed with SIGKILL while it is draining auto-approvals; the other takes the job
over when the lease runs out. Every submission is paid exactly once and the books check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from obolo.adapters.cards import Card
from obolo.adapters.db.schema_jobs import jobs
from obolo.adapters.db.schema_tasks import task_assignments
from obolo.bootstrap import build
from obolo.identity.model import Role
from obolo.ledger.check import check_ledger
from obolo.money import EUR, Amount
from obolo.tasks.model import Terms, price
from tests.e2e.test_server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 25
TASKS = 4
REWARD = 100_000  # 0.10 EUR
CARD = Card("4242424242424242", 12, 2031, "123")


def obolo(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def submitted_work(url: str) -> tuple[list[str], int]:
    """An employer's tasks with every assignment submitted and due at once (no delay)."""
    platform = build(url=url, migrate=True)
    platform.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    employer = platform.identity.sign_up("boss@example.com", "boss password!", "Boss").id
    platform.identity.add_role(employer, Role.EMPLOYER)
    platform.wallets.top_up(employer, Amount.parse("100.00", EUR), CARD)
    people = []
    for n in range(WORKERS):
        person = platform.identity.sign_up(f"w{n}@example.com", "worker password", f"W{n}").id
        platform.identity.add_role(person, Role.WORKER)
        people.append(person)
    deadline = platform.clock() + 86_400 * 1_000_000_000
    for t in range(TASKS):
        terms = Terms(f"Label {t}", "Say what the picture shows.", REWARD, WORKERS, 600, deadline, 0)
        task = platform.tasks.post_task(employer, terms, "EUR")
        for person in people:
            assignment = platform.tasks.accept(person, task.id)
            platform.tasks.submit(person, assignment.id, "a cat")
    platform.close()
    return people, WORKERS * TASKS


def approved(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(task_assignments.c.status == "approved")
        ).scalar_one()


def lease_holder(engine, name: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(jobs.c.lease_owner).where(jobs.c.name == name)).scalar_one_or_none()


def test_a_worker_killed_mid_job_leaves_it_to_the_other_and_nothing_is_paid_twice(postgres_url):
    """SIGKILL the worker holding the auto-approval lease after it committed some batches:
    the survivor finishes once the lease expires; each of 100 submissions is paid once."""
    people, total = submitted_work(postgres_url)
    env = {**os.environ, "OBOLO_JOB_LEASE_SECONDS": "3", "OBOLO_JOB_BATCH": "5"}
    port = free_port()
    api = obolo("serve", "--db", postgres_url, "--port", str(port), "--no-jobs", env=env)
    workers = {
        process.pid: process for process in (obolo("worker", "--db", postgres_url, env=env) for _ in range(2))
    }
    platform = build(url=postgres_url, migrate=False)
    engine = platform.engine
    try:
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            holder = lease_holder(engine, "tasks_auto_approve")
            if holder and 0 < approved(engine) < total:
                victim = int(holder.split(":")[1])
            else:
                time.sleep(0.01)
        assert victim in workers, "no worker was caught halfway through the approvals"
        os.kill(victim, signal.SIGKILL)
        workers[victim].wait(timeout=10)
        assert approved(engine) < total
        survivor = next(pid for pid in workers if pid != victim)
        holders = set()
        deadline = time.monotonic() + 90
        while approved(engine) < total and time.monotonic() < deadline:
            holders.add(lease_holder(engine, "tasks_auto_approve"))
            time.sleep(0.05)
        assert approved(engine) == total
        assert any(h and h.split(":")[1] == str(survivor) for h in holders), "the survivor took the job over"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        pricing = price(REWARD, platform.settings.task_fee, platform.settings.task_payout_fee)
        net = pricing.reward - pricing.payout_fee
        balances = {
            person: {b.asset: b.available for b in platform.wallets.balances(person)}.get("EUR", 0)
            for person in people
        }
        assert set(balances.values()) == {TASKS * net}  # each submission paid exactly once
        assert check_ledger(engine) == []
    finally:
        for process in [api, *workers.values()]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [api, *workers.values()]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        platform.close()
