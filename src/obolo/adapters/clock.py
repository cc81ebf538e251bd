"""Time, as the rest of Obolo sees it: a callable returning integer nanoseconds since the
epoch. Tests pass a fake they move by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], int]

system_clock: Clock = time.time_ns

NS_PER_SECOND = 1_000_000_000


def iso(ns: int) -> str:
    """An RFC 3339 UTC timestamp with microseconds, for JSON and CSV."""
    return (
        datetime.fromtimestamp(ns / NS_PER_SECOND, tz=UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )


def from_iso(text: str) -> int:
    """Nanoseconds for an ISO date or date-time (naive values are taken as UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp()) * NS_PER_SECOND + value.microsecond * 1000
