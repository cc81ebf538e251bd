"""`obolo bench tap`: online taps per second and their latency through the real HTTP
server on SQLite, beside the bare `/livez` endpoint (no database) and the `/healthz`
readiness check (one database round trip) of the same server in the same run.

The server runs in its own process as `obolo serve` runs it (JSON access log included); the
load is open-loop at a fixed rate (a request is sent at its scheduled time whether or not
earlier ones were answered), and latency is measured from the scheduled time, so a
stalled server cannot hide its queue. Half the taps are retail (one transfer each), half
transit (accrued on the card's day hold); cards rotate so no tap is a double tap.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_P99_MS = 10.0


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]
    server_ms: list[float]
    declined: int
    cpu_seconds: float = float("nan")  # the server process's CPU time during the phase

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / max(1, self.ok)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds

    def p(self, q: float, values: list[float] | None = None) -> float:
        data = sorted(self.latencies_ms if values is None else values)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))]


@dataclass(frozen=True, slots=True)
class Setup:
    url: str
    cards: list[str]
    till: tuple[str, str]
    gate: tuple[str, str]


def prepare(folder: Path, cards: int) -> Setup:
    """Riders with topped-up wallets and linked cards, a shop's till and a metro gate."""
    from argon2 import PasswordHasher

    from obolo.adapters.cards import Card
    from obolo.bootstrap import build
    from obolo.identity.model import Role
    from obolo.money import EUR, Amount, parse_units
    from obolo.tap.model import Mode

    url = f"sqlite:///{folder / 'obolo.db'}"
    platform = build(url=url, migrate=True)
    platform.identity.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    owner = platform.identity.sign_up("owner@bench.example", "owner password 1", "Owner").id
    platform.identity.add_role(owner, Role.PROVIDER)

    def eur(text: str) -> int:
        return parse_units(text, EUR)

    shop = platform.tap.register_merchant(owner, "Cafe", "https://cafe.example", Mode.RETAIL, "EUR",
                                          offline_limit=eur("5.00"))  # fmt: skip
    metro = platform.tap.register_merchant(
        owner, "Metro", "https://metro.example", Mode.TRANSIT, "EUR", offline_limit=eur("5.00"),
        fare=eur("0.50"), daily_cap=eur("1.00"), weekly_cap=eur("5.00"),
    )  # fmt: skip
    till, till_key = platform.tap.register_terminal(owner, shop.id, "till", Mode.RETAIL)
    gate, gate_key = platform.tap.register_terminal(owner, metro.id, "gate", Mode.TRANSIT)
    uids = []
    per_rider = 50
    for rider_number in range((cards + per_rider - 1) // per_rider):
        rider = platform.identity.sign_up(f"rider{rider_number}@bench.example", "rider password 1", "R").id
        platform.wallets.top_up(rider, Amount.parse("400.00", EUR), Card("4242424242424242", 12, 2035, "123"))
        for n in range(per_rider):
            uid = f"04{rider_number:06x}{n:06x}"
            platform.tap.link_card(rider, bytes.fromhex(uid), f"card {n}")
            uids.append(uid)
    platform.close()
    if till_key is None or gate_key is None:
        raise RuntimeError("keyed terminals get a key")
    return Setup(url, uids[:cards], (till.id, till_key), (gate.id, gate_key))


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The API as `obolo serve` runs it: JSON access log on stdout (here into `log`)."""
    code = (
        "import uvicorn\n"
        "from obolo.bootstrap import build\n"
        "from obolo.entrypoints.api.app import create_app\n"
        "from obolo.entrypoints.logs import configure\n"
        "configure(json=True)\n"
        f"uvicorn.run(create_app(build(url={url!r})), host='127.0.0.1', port={port}, "
        "log_level='warning', access_log=False)\n"
    )
    with log.open("ab") as output:
        return subprocess.Popen([sys.executable, "-c", code], env={**os.environ}, stdout=output)


class _Connection:
    """One keep-alive HTTP/1.1 connection, written by hand: httpx costs more CPU per request
    than the server spends on a tap, and the load generator shares the machine with it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        answer_headers = {}
        for line in header_lines:
            if ":" in line:
                name, _, value = line.partition(":")
                answer_headers[name.strip().lower()] = value.strip()
        payload = await self.reader.readexactly(int(answer_headers.get("content-length", "0")))
        return int(status_line.split()[1]), answer_headers, payload


async def _phase(
    name: str, port: int, rate: float, seconds: float, request_for: Any, connections: int = 48
) -> Phase:
    total = int(rate * seconds)
    latencies: list[float] = []
    server: list[float] = []
    declined = 0
    ok = 0
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        pool.put_nowait(_Connection(reader, writer, f"127.0.0.1:{port}"))

    async def one(index: int, due: float) -> None:
        nonlocal ok, declined
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        method, path, body, headers = request_for(index)
        raw = None if body is None else json.dumps(body).encode()
        connection = await pool.get()
        try:
            status, answer_headers, payload = await connection.request(method, path, raw, headers)
        finally:
            pool.put_nowait(connection)
        done = time.perf_counter()
        if status != 200:
            return
        ok += 1
        latencies.append((done - due) * 1000)
        timing = answer_headers.get("server-timing", "")
        if "dur=" in timing:
            server.append(float(timing.split("dur=")[1]))
        if body is not None and b'"status":"approved"' not in payload:
            declined += 1

    started = time.perf_counter() + 0.05
    await asyncio.gather(*(one(i, started + i / rate) for i in range(total)))
    # The last request is sent at (total - 1) / rate: a phase lasts at least its schedule.
    elapsed = max(time.perf_counter() - started, total / rate)
    while not pool.empty():
        pool.get_nowait().writer.close()
    return Phase(name, total, ok, elapsed, latencies, server, declined)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured(pid: int, phase: Any) -> Phase:
    from dataclasses import replace

    before = cpu_seconds(pid)
    result: Phase = asyncio.run(phase)
    return replace(result, cpu_seconds=cpu_seconds(pid) - before)


def run(rate: float = 500, seconds: float = 10, cards: int = 3000) -> tuple[Phase, Phase, Phase]:
    """(bare /livez, /healthz, taps) at `rate` requests a second for `seconds` each, same server."""

    from obolo.entrypoints.bench.server_process import wait_until_serving
    from obolo.entrypoints.demo_sites import free_port

    with tempfile.TemporaryDirectory(prefix="obolo-bench-tap-") as directory:
        setup = prepare(Path(directory), cards)
        port = free_port()
        server = start_server(setup.url, port, Path(directory) / "server.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(server, base, Path(directory) / "server.log", seconds=30)
            offset = 0

            def tap_request(index: int):  # type: ignore[no-untyped-def]
                n = offset + index
                terminal_id, key = setup.till if n % 2 else setup.gate
                body = {
                    "tap_id": str(uuid.uuid4()),
                    "terminal_id": terminal_id,
                    "card_uid": setup.cards[(n // 2) % len(setup.cards)],
                }
                if n % 2:
                    body["amount"] = "0.10"
                return "POST", "/v1/taps", body, {"Authorization": f"Bearer {key}"}

            def live_request(_index: int):  # type: ignore[no-untyped-def]
                return "GET", "/livez", None, {}

            def health_request(_index: int):  # type: ignore[no-untyped-def]
                return "GET", "/healthz", None, {}

            asyncio.run(_phase("warm-up", port, 200, 1, tap_request))
            offset = 400
            bare = _measured(server.pid, _phase("/livez", port, rate, seconds, live_request))
            ready = _measured(server.pid, _phase("/healthz", port, rate, seconds, health_request))
            taps = _measured(server.pid, _phase("POST /v1/taps", port, rate, seconds, tap_request))
        finally:
            server.terminate()
            server.wait(timeout=10)
    return bare, ready, taps


def server_p99(taps: Phase) -> float:
    return taps.p(0.99, taps.server_ms)


def markdown(
    bare: Phase, ready: Phase, taps: Phase, command: str, machine: str, rate: float, tails: list[float]
) -> str:
    """The section: the median run's table (by server p99), and every run's server p99."""
    met = sum(tail <= TARGET_P99_MS for tail in tails)
    every = met == len(tails) and taps.per_second >= 0.98 * rate
    runs = f"{len(tails)} runs" if len(tails) > 1 else "1 run"
    return "\n".join(
        [
            "## Tap",
            "",
            f"Measured on {machine} with `{command}`: the real server in its own process on SQLite",
            "(WAL, `synchronous=FULL`), open-loop load from one client process on the same machine at a",
            "fixed rate; latency counted from each request's scheduled send time. Server time is the",
            "tap route's own time (`Server-Timing`), from the parsed request to the signed answer,",
            "including the wait for the shared commit. Half retail taps, half transit; no double taps.",
            f"Each run starts a fresh server on a fresh database; the table is the median of {runs}",
            "by server p99.",
            "",
            "| endpoint | sent | answered/s | p50 ms | p99 ms | server p50 ms | server p99 ms "
            "| server CPU ms/req |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| `GET /livez` (bare, no database) | {bare.sent:,} | {bare.per_second:,.0f} "
            f"| {bare.p(0.5):.2f} | {bare.p(0.99):.2f} | — | — | {bare.cpu_ms_per_request:.2f} |",
            f"| `GET /healthz` (one database read) | {ready.sent:,} | {ready.per_second:,.0f} "
            f"| {ready.p(0.5):.2f} | {ready.p(0.99):.2f} | — | — | {ready.cpu_ms_per_request:.2f} |",
            f"| `POST /v1/taps` | {taps.sent:,} | {taps.per_second:,.0f} | {taps.p(0.5):.2f} "
            f"| {taps.p(0.99):.2f} | {taps.p(0.5, taps.server_ms):.2f} "
            f"| {server_p99(taps):.2f} | {taps.cpu_ms_per_request:.2f} |",
            "",
            f"Ratio taps / bare: throughput {taps.per_second / bare.per_second:.2f}, "
            f"p99 latency {taps.p(0.99) / bare.p(0.99):.1f}x, server CPU per request "
            f"{taps.cpu_ms_per_request / bare.cpu_ms_per_request:.1f}x. Declined taps: {taps.declined}.",
            "",
            f"| target | met | figure |\n| --- | --- | --- |\n| server p99 <= {TARGET_P99_MS:.0f} ms at "
            f"{rate:,.0f} taps/s, in every run | {'yes' if every else '**no**'} | "
            f"met in {met} of {len(tails)}: server p99 {', '.join(f'{t:.2f}' for t in tails)} ms |",
            "",
        ]
    )
