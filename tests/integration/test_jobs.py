"""Jobs shared by workers: a due job is claimed by one worker at a time, a lease left by a
dead worker is taken over once it runs out, failures are recorded with their error and
backed off, and a rerun of a money-moving job moves nothing twice."""

from __future__ import annotations

import threading

import pytest

from obolo.adapters.db.engine import make_engine
from obolo.adapters.db.migrate import upgrade
from obolo.jobs.model import Job, next_run_after_failure
from obolo.jobs.service import JobRunner, states
from tests.fakes import NS


@pytest.fixture
def engine(db_url):
    built = make_engine(db_url)
    upgrade(built)
    yield built
    built.dispose()


def counting_job(name="count", every=10, calls=None, fail=False, lease=60):
    calls = calls if calls is not None else []

    def run() -> int:
        calls.append(threading.get_ident())
        if fail:
            raise RuntimeError("the bank is down\nsecond line")
        return 3

    return Job(name, every, run, lease_seconds=lease), calls


def test_a_due_job_runs_once_then_waits_for_its_interval(engine, clock):
    """Run, recorded ok with its items; not due again until the interval has passed."""
    job, calls = counting_job()
    runner = JobRunner(engine, clock, [job], owner="w1")
    assert runner.run_due() == [("count", 3, None)]
    assert runner.run_due() == []
    clock.advance(10)
    assert [name for name, _, _ in runner.run_due()] == ["count"]
    (state,) = states(engine)
    assert (state.runs, state.last_status, state.last_items, state.lease_owner) == (2, "ok", 3, None)
    assert len(calls) == 2


def test_a_leased_job_is_not_taken_by_another_worker_until_the_lease_runs_out(engine, clock):
    """w1 claims and dies; w2 finds nothing until the lease expires, then runs it."""
    job, _ = counting_job(lease=60)
    first = JobRunner(engine, clock, [job], owner="w1")
    first.register()
    assert first.claim() is not None  # w1 dies here, holding the lease
    second = JobRunner(engine, clock, [job], owner="w2")
    assert second.run_due() == []
    clock.advance(61)
    assert [name for name, _, _ in second.run_due()] == ["count"]
    (state,) = states(engine)
    assert (state.last_status, state.runs) == ("ok", 1)


def test_a_late_finisher_does_not_overwrite_the_worker_that_took_over(engine, clock):
    """w1's lease ran out and w2 took the job: w1's late record is ignored."""
    job, _ = counting_job(lease=60)
    first = JobRunner(engine, clock, [job], owner="w1")
    first.register()
    claimed = first.claim()
    clock.advance(61)
    second = JobRunner(engine, clock, [job], owner="w2")
    assert second.claim() is not None
    first._finish(claimed, 99, None)
    (state,) = states(engine)
    assert (state.lease_owner, state.runs, state.last_status) == ("w2", 0, "running")


def test_failures_are_recorded_without_traceback_and_backed_off(engine, clock):
    """A failing job: status failed, the error's first line, retries further and further apart."""
    job, calls = counting_job(fail=True)
    runner = JobRunner(engine, clock, [job], owner="w1")
    (outcome,) = runner.run_due()
    assert isinstance(outcome[2], RuntimeError)
    (state,) = states(engine)
    assert (state.last_status, state.last_error, state.failures) == (
        "failed",
        "RuntimeError: the bank is down",
        1,
    )
    assert state.next_run_at == next_run_after_failure(clock(), 10, 1)
    clock.advance(19)
    assert runner.run_due() == []
    clock.advance(2)
    runner.run_due()
    assert states(engine)[0].next_run_at - clock() == 40 * NS
    assert len(calls) == 2


def test_concurrent_workers_run_each_due_job_once(engine, clock):
    """Four threads race for three due jobs: each job runs exactly once."""
    calls: list[int] = []
    job_list = [counting_job(f"job{i}", calls=calls)[0] for i in range(3)]
    JobRunner(engine, clock, job_list).register()
    barrier = threading.Barrier(4)

    def work() -> None:
        runner = JobRunner(engine, clock, job_list)
        barrier.wait()
        runner.run_due()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 3
    assert sorted(s.runs for s in states(engine)) == [1, 1, 1]


def test_the_interval_follows_the_code(engine, clock):
    """Registering again with a new interval updates the row, keeping its history."""
    job, _ = counting_job(every=10)
    runner = JobRunner(engine, clock, [job], owner="w1")
    runner.run_due()
    JobRunner(engine, clock, [Job("count", 30, job.run)], owner="w1").register()
    (state,) = states(engine)
    assert (state.every_seconds, state.runs) == (30, 1)
