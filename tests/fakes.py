"""Fakes for the ports tests need: a clock you move by hand."""

from __future__ import annotations

import threading

NS = 1_000_000_000


class FakeClock:
    """A nanosecond clock that only moves when told to (thread-safe)."""

    def __init__(self, start_ns: int = 1_800_000_000 * NS) -> None:
        self._now = start_ns
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, *, ns: int = 0) -> None:
        with self._lock:
            self._now += int(seconds * NS) + ns
