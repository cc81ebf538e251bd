"""A server killed under load (SQLite): `obolo serve` is SIGKILLed while client threads
send payments and top-ups, each with its own Idempotency-Key, then started again on the
same file. The clients retry every request they got no answer for, with the same key and
body. Afterwards: every key was answered one way only, made one movement at most, the
balances are exactly what the answers say, money is conserved and the books check."""

from __future__ import annotations

import os
import signal
import time

import pytest

from obolo.adapters.db.engine import make_engine
from tests.e2e.fault_support import (
    Recorder,
    Server,
    sign_up_people,
    start_load,
    stop_load,
    verify,
    wait_for_finals,
)
from tests.e2e.test_server import free_port

PEOPLE = 6
CLIENTS = 4
KILLS = int(os.environ.get("OBOLO_FAULT_KILLS", "2"))
ANSWERS_PER_ROUND = int(os.environ.get("OBOLO_FAULT_ANSWERS", "50"))


def drill(tmp_path, kills: int, answers_per_round: int) -> dict[str, int]:
    url = f"sqlite:///{tmp_path / 'obolo.db'}"
    server = Server(url, free_port(), tmp_path)
    server.start()
    engine = make_engine(url)
    try:
        people = sign_up_people(server.base, PEOPLE)
        recorder = Recorder()
        stop, threads = start_load(server.base, people, recorder, CLIENTS)
        downtime = 0.0
        for round_ in range(kills):
            wait_for_finals(recorder, (round_ + 1) * answers_per_round)
            server.kill()  # mid-load: every client has a request in flight
            cut = time.monotonic()
            server.start()
            downtime += time.monotonic() - cut
        wait_for_finals(recorder, (kills + 1) * answers_per_round)
        stop_load(stop, threads, recorder)
        figures = verify(server.base, engine, people, recorder)
        figures.update(kills=kills, clients=CLIENTS, downtime_ms=int(downtime * 1000))
        print(f"\nSQLite, server killed {kills}x under load: {figures}")
        assert figures["retried"] > 0, "the kills cut no request off: the drill tested nothing"
        return figures
    finally:
        server.stop()
        engine.dispose()


def test_a_server_killed_under_load_loses_and_doubles_nothing(tmp_path):
    """Two SIGKILLs under load from four clients; every request retried until answered."""
    drill(tmp_path, KILLS, ANSWERS_PER_ROUND)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("OBOLO_FUZZ"),
    reason="ten kills: make fuzz only; it failed once on a declined top-up's answer, under investigation",
)
def test_a_server_killed_ten_times_under_load_loses_and_doubles_nothing(tmp_path):
    """The same, longer: ten kills, 150 answers between them."""
    drill(tmp_path, 10, 150)


@pytest.mark.slow
def test_api_processes_killed_under_load_lose_and_double_nothing(tmp_path):
    """`obolo serve --workers 2`: one API process at a time is SIGKILLed, four times; the
    server starts a new one, and a retry landing on the other process takes over the dead
    one's keys at once."""
    url = f"sqlite:///{tmp_path / 'obolo.db'}"
    server = Server(url, free_port(), tmp_path, args=("--workers", "2"))
    server.start()
    engine = make_engine(url)
    try:
        people = sign_up_people(server.base, PEOPLE)
        recorder = Recorder()
        stop, threads = start_load(server.base, people, recorder, CLIENTS)
        killed = []
        for round_ in range(4):
            wait_for_finals(recorder, (round_ + 1) * ANSWERS_PER_ROUND)
            processes = server.api_processes()
            assert len(processes) == 2, processes
            victim = processes[round_ % 2]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            deadline = time.monotonic() + 30
            while len(set(server.api_processes()) - set(killed)) < 2:  # the server replaced it
                assert time.monotonic() < deadline, "no new API process"
                time.sleep(0.1)
        wait_for_finals(recorder, 5 * ANSWERS_PER_ROUND)
        stop_load(stop, threads, recorder)
        figures = verify(server.base, engine, people, recorder)
        print(f"\nSQLite, --workers 2, an API process killed 4x under load: {figures}")
        assert figures["retried"] > 0
    finally:
        server.stop()
        engine.dispose()
