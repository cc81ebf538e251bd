"""A server killed under load (SQLite): `obolo serve` is SIGKILLed while client threads
send payments, top-ups and withdrawals, each with its own Idempotency-Key, then started again on the
same file. The clients retry every request they got no answer for, with the same key and
body. Afterwards: every key was answered one way only, made one movement at most, the
balances are exactly what the answers say, money is conserved and the books check."""

from __future__ import annotations

import os
import signal
import time

import pytest

from obolo.adapters.db.engine import make_engine
from tests.e2e.fault_support import Server, drill_under_load
from tests.e2e.test_server import free_port

KILLS = int(os.environ.get("OBOLO_FAULT_KILLS", "2"))
ANSWERS_PER_ROUND = int(os.environ.get("OBOLO_FAULT_ANSWERS", "50"))


def drill(tmp_path, kills: int, answers_per_round: int) -> dict[str, int]:
    url = f"sqlite:///{tmp_path / 'obolo.db'}"
    server = Server(url, free_port(), tmp_path)
    server.start()
    engine = make_engine(url)
    downtime = 0.0

    def kill_and_restart() -> None:
        nonlocal downtime
        server.kill()  # mid-load: every client has a request in flight
        cut = time.monotonic()
        server.start()
        downtime += time.monotonic() - cut

    try:
        figures, _ = drill_under_load(server, engine, kill_and_restart, kills, answers_per_round)
        figures["downtime_ms"] = int(downtime * 1000)
        print(f"\nSQLite, server killed {kills}x under load: {figures}")
        assert figures["retried"] > 0, "the kills cut no request off: the drill tested nothing"
        return figures
    finally:
        server.stop()
        engine.dispose()


def test_a_server_killed_under_load_loses_and_doubles_nothing(tmp_path):
    """Two SIGKILLs under load from four clients; every request retried until answered."""
    drill(tmp_path, KILLS, ANSWERS_PER_ROUND)


@pytest.mark.long
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
    killed: list[int] = []

    def kill_one_api_process() -> None:
        processes = server.api_processes()
        assert len(processes) == 2, processes
        victim = processes[len(killed) % 2]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        deadline = time.monotonic() + 30
        while len(set(server.api_processes()) - set(killed)) < 2:  # the server replaced it
            assert time.monotonic() < deadline, "no new API process"
            time.sleep(0.1)

    try:
        figures, _ = drill_under_load(server, engine, kill_one_api_process, 4, ANSWERS_PER_ROUND)
        print(f"\nSQLite, --workers 2, an API process killed 4x under load: {figures}")
        assert figures["retried"] > 0
    finally:
        server.stop()
        engine.dispose()
