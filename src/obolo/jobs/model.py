"""Job schedules and outcomes: pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

NS = 1_000_000_000
MAX_BACKOFF_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[], int]  # does the work; returns how many items it handled
    lease_seconds: int = 120  # longer than one run can take; then it is presumed dead
    # Jobs in another lane run in a thread of their own: one waiting on the network (webhook
    # deliveries) never holds up the jobs that move money.
    lane: str = "main"


@dataclass(frozen=True, slots=True)
class JobState:
    name: str
    every_seconds: int
    next_run_at: int
    lease_owner: str | None
    lease_until: int | None
    last_started_at: int | None
    last_finished_at: int | None
    last_status: str | None
    last_error: str | None
    last_items: int
    runs: int
    failures: int
    consecutive_failures: int


def next_run_after_success(now: int, every_seconds: int) -> int:
    return now + every_seconds * NS


def next_run_after_failure(now: int, every_seconds: int, consecutive_failures: int) -> int:
    """Back off: the interval doubled per failure in a row, at most ten minutes (and never
    sooner than the usual interval)."""
    backoff = min(MAX_BACKOFF_SECONDS, max(every_seconds, 1) * 2 ** min(consecutive_failures, 20))
    return now + int(max(every_seconds, backoff) * NS)


def short_error(error: BaseException) -> str:
    """What the console shows of a failure: its type and first line, no traceback."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:500]
