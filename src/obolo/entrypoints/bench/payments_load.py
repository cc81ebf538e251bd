"""The load generator of `obolo bench payments`: closed-loop HTTP/1.1 over keep-alive
connections, like wrk, in a process of its own.

Each of C connections sends one request, waits for the whole answer, and sends the next,
until the time is up. Requests are written as bytes on raw asyncio sockets (no HTTP
library between the loop and the socket): the generator has to stay far cheaper per
request than the server it measures. A payment request carries a new Idempotency-Key
every time; an answer of 5xx or a lost connection is kept and sent again, with its key,
after the timed phase, until it is definite, so that every payment's fate is known.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Payer:
    token: str
    to: str  # the user id paid


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    host: str
    port: int
    connections: int
    seconds: float
    payers: tuple[Payer, ...] = ()  # empty: the bare GET /healthz
    amount: str = "0.01"
    asset: str = "EUR"
    tag: str = ""  # makes this phase's Idempotency-Keys unique


@dataclass
class PhaseResult:
    sent: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # of answers below 500
    statuses: dict[int, int] = field(default_factory=dict)  # status -> count (0: connection lost)
    # (payer index, status, answer body) of every payment answered definitely, retries included
    payments: list[tuple[int, int, bytes]] = field(default_factory=list)
    unresolved: int = 0  # payments still without a definite answer after the retries


class _Lost(Exception):
    pass


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one HTTP/1.1 answer: (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length) if length else b""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


def _payment(spec: PhaseSpec, index: int, key: str) -> bytes:
    payer = spec.payers[index]
    body = json.dumps({"to": payer.to, "amount": spec.amount, "asset": spec.asset}).encode()
    return (
        f"POST /v1/payments HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n"
        f"Authorization: Bearer {payer.token}\r\nIdempotency-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _connection(
    spec: PhaseSpec, number: int, deadline: float, result: PhaseResult, retry: list[tuple[int, bytes]]
) -> None:
    healthz = f"GET /healthz HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection(spec.host, spec.port)
    sequence = 0
    statuses, latencies = result.statuses, result.latencies_ms
    try:
        while time.perf_counter() < deadline:
            payer = -1
            if spec.payers:
                # Connections take the payers in turn, so no two start on the same wallet.
                payer = (number + sequence * spec.connections) % len(spec.payers)
                request = _payment(spec, payer, f"{spec.tag}-{number}-{sequence}")
            else:
                request = healthz
            sequence += 1
            started = time.perf_counter()
            result.sent += 1
            try:
                writer.write(request)
                status, body = await _answer(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                statuses[0] = statuses.get(0, 0) + 1
                if payer >= 0:
                    retry.append((payer, request))
                writer.close()
                reader, writer = await asyncio.open_connection(spec.host, spec.port)
                continue
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 500:
                if payer >= 0:
                    retry.append((payer, request))
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if payer >= 0:
                result.payments.append((payer, status, body))
    finally:
        writer.close()


async def _resolve(spec: PhaseSpec, retry: list[tuple[int, bytes]], result: PhaseResult) -> None:
    """Send again, with their keys, the payments whose answer was lost or 5xx."""
    for payer, request in retry:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(spec.host, spec.port)
                writer.write(request)
                status, body = await _answer(reader)
                writer.close()
            except (OSError, asyncio.IncompleteReadError):
                status, body = 0, b""
            if 0 < status < 500:
                result.payments.append((payer, status, body))
                break
            await asyncio.sleep(0.1)
        else:
            result.unresolved += 1


async def _phase(spec: PhaseSpec) -> PhaseResult:
    result = PhaseResult()
    retry: list[tuple[int, bytes]] = []
    started = time.perf_counter()
    deadline = started + spec.seconds
    await asyncio.gather(*(_connection(spec, n, deadline, result, retry) for n in range(spec.connections)))
    result.seconds = time.perf_counter() - started
    await _resolve(spec, retry, result)
    return result


def run_phase(spec: PhaseSpec) -> PhaseResult:
    """One timed phase (run in the generator's own process)."""
    return asyncio.run(_phase(spec))


def answer_fields(body: bytes) -> dict[str, Any]:
    return dict(json.loads(body))
