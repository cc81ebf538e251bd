"""Who wants to know about batches: an entrypoint registers an observer (metrics), the
ledger calls it after applying each batch, with its size and the time it took. The
ledger itself knows nothing of what the observer does."""

from __future__ import annotations

from collections.abc import Callable

BatchObserver = Callable[[int, float], None]

_observers: list[BatchObserver] = []


def observe_batches(observer: BatchObserver) -> None:
    """Call `observer(transfers, seconds)` after every batch (once per observer)."""
    if observer not in _observers:
        _observers.append(observer)


def batch_applied(transfers: int, seconds: float) -> None:
    for observer in _observers:
        observer(transfers, seconds)
