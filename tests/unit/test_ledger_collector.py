"""A large batch runs with the cyclic garbage collector paused, and leaves it as it found it."""

from __future__ import annotations

import gc
import threading

import pytest

from obolo.ledger.engine import _collector_paused


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_inside_and_running_again_after():
    gc.enable()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_resumes_the_collector():
    gc.enable()
    with pytest.raises(ValueError, match="a batch that fails"), _collector_paused():
        raise ValueError("a batch that fails")
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    with _collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_batches_resume_it_only_when_the_last_one_ends():
    """Two threads: the first to finish must not restart the collector under the other."""
    gc.enable()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with _collector_paused():
            first_in.set()
            second_done.wait(5)
            seen.append(gc.isenabled())

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(5)
    with _collector_paused():
        pass
    second_done.set()
    worker.join(5)
    assert seen == [False]
    assert gc.isenabled()
