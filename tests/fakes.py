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


class FakeEmailGateway:
    """Records what would have been mailed; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.failing = False

    def send(self, to: str, subject: str, body: str) -> str:
        from obolo.adapters.email_gateway import EmailNotSent

        if self.failing:
            raise EmailNotSent("the fake gateway is down")
        self.sent.append((to, subject, body))
        return f"fake-mail-{len(self.sent)}"

    def to(self, address: str) -> list[tuple[str, str]]:
        """(subject, body) of everything mailed to `address`, oldest first."""
        return [(subject, body) for to, subject, body in self.sent if to == address]
