"""`obolo bench payments`: POST /v1/payments under closed-loop load, beside the bare
`GET /healthz` of the same server, loaded by the same generator in the same run.

`obolo serve` runs over a fresh database (a temp SQLite file, or a PostgreSQL database
created for the run and dropped after), without its background jobs, so that what it
counts is the requests' own work. The bench signs up and funds its people over HTTP, then
for each number of connections loads `/healthz`, then the payments, for the same time,
from one generator process (`payments_load`). Counted for the payment phase:

- SQL statements and commits, from the server's own counters on `/metrics`
  (`obolo_sql_statements`, `obolo_db_commits`);
- fsyncs: on SQLite the server runs under `strace -f --seccomp-bpf` (only fsync and
  fdatasync stop the process) and the calls are counted by timestamp in the phase; on
  PostgreSQL, `pg_stat_wal.wal_sync` before and after (server-wide: other work on the
  same server adds to it).

Afterwards every 2xx answer is found in the database as one movement with one ledger
transfer of its amount, nothing else moved, every wallet holds what the answers predict,
and the books check.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from obolo.adapters.db.engine import database_url
from obolo.entrypoints.bench.load_bench import Check, fresh_database, percentile
from obolo.entrypoints.bench.payments_load import Payer, PhaseResult, PhaseSpec, answer_fields, run_phase
from obolo.entrypoints.bench.server_process import wait_until_serving
from obolo.money import EUR, parse_units

PASSWORD = "a payments bench password"  # noqa: S105 -- the bench's own throwaway people
CARD = {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
FUNDS = "500.00"
AMOUNT = "0.01"
# The targets of the write-path work, checked on every run.
RATIO_TARGET, P99_TARGET, FSYNC_TARGET, STATEMENT_TARGET = 0.4, 5.0, 1.0, 10.0


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    answered: int  # answers below 500
    seconds: float
    p50: float
    p99: float
    errors: dict[int, int]  # status (0: connection lost) -> count, for 4xx and 5xx
    cpu_ms: float  # the server's CPU milliseconds per answer

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


@dataclass
class Round:
    connections: int
    bare: Phase
    payments: Phase
    statements: float  # per 2xx payment
    commits: float
    fsyncs: float | None  # None: not counted here
    fsync_source: str

    @property
    def ratio(self) -> float:
        return self.payments.per_second / self.bare.per_second if self.bare.per_second else 0.0

    @property
    def p99_ratio(self) -> float:
        return self.payments.p99 / self.bare.p99 if self.bare.p99 else float("inf")


@dataclass
class Run:
    database: str
    workers: int
    people: int
    seconds: float
    rounds: list[Round] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


# -- the server ------------------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and everything below it (Linux /proc)."""
    from obolo.entrypoints.bench.tap_bench import cpu_seconds as of_one

    return sum(of_one(p) for p in _descendants(pid))


@dataclass
class Server:
    base: str
    host: str
    port: int
    pid: int  # the top process (strace's when traced)
    metrics_token: str
    admin_token: str
    fsync_log: Path | None  # strace's output, when the server runs under it

    def counters(self) -> tuple[float, float]:
        """(SQL statements, commits) the server has counted so far, all processes."""
        answer = httpx.get(
            f"{self.base}/metrics", headers={"Authorization": f"Bearer {self.metrics_token}"}, timeout=30
        )
        answer.raise_for_status()
        totals = {"obolo_sql_statements_total": 0.0, "obolo_db_commits_total": 0.0}
        for line in answer.text.splitlines():
            name, _, value = line.partition(" ")
            name = name.split("{", 1)[0]
            if name in totals:
                totals[name] += float(value.split()[0])
        return totals["obolo_sql_statements_total"], totals["obolo_db_commits_total"]

    def fsyncs_between(self, start: float, end: float) -> int:
        """fsync and fdatasync calls the server made between two wall-clock times."""
        assert self.fsync_log is not None
        count = 0
        for line in self.fsync_log.read_text(errors="replace").splitlines():
            match = _STRACE_LINE.match(line)
            if match and start <= float(match.group(1)) <= end:
                count += 1
        return count


_STRACE_LINE = re.compile(r"^\d+\s+(\d+\.\d+)\s+f(?:data)?sync\(")


@contextmanager
def serving(url: str, workers: int, folder: Path) -> Iterator[Server]:
    """`obolo serve --no-jobs --workers N` on a free loopback port over `url`; on SQLite
    under strace when strace is installed, to count its fsyncs."""
    from obolo.entrypoints.demo_sites import free_port

    port = free_port()
    metrics_token, admin_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    command = [sys.executable, "-c", "from obolo.entrypoints.cli import app; app()", "serve"]
    command += ["--port", str(port), "--no-jobs", "--workers", str(workers)]
    fsync_log = None
    strace = shutil.which("strace")
    if strace and url.startswith("sqlite"):
        fsync_log = folder / "fsyncs.log"
        fsync_log.touch()
        tracing = [strace, "-f", "--seccomp-bpf", "-ttt", "-qq", "-e", "trace=fsync,fdatasync"]
        command = [*tracing, "-e", "signal=none", "-o", str(fsync_log), *command]
    # The database URL and the tokens travel in the environment, not on a command line.
    environment = {
        **os.environ,
        "OBOLO_DATABASE_URL": url,
        "OBOLO_METRICS_TOKEN": metrics_token,
        "OBOLO_ADMIN_TOKEN": admin_token,
    }
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(process, base, log)
            yield Server(base, "127.0.0.1", port, process.pid, metrics_token, admin_token, fsync_log)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Under strace, stop the server itself: strace then ends with it.
    below = [p for p in _descendants(process.pid) if p != process.pid]
    targets = below[:1] if below and Path(f"/proc/{process.pid}/comm").read_text().strip() == "strace" else []
    for pid in targets or [process.pid]:
        with suppress(ProcessLookupError):
            os.kill(pid, 15)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- people ----------------------------------------------------------------------------------------
def sign_up(base: str, count: int, tag: str) -> list[tuple[str, str, int]]:
    """`count` people signed up, signed in and funded over HTTP: (user id, token, units held)."""

    def one(number: int) -> tuple[str, str, int]:
        email = f"payer{number}.{tag}@bench.example"
        with httpx.Client(base_url=base, timeout=120) as http:
            made = http.post(
                "/v1/users", json={"email": email, "password": PASSWORD, "display_name": "payer"}
            )
            made.raise_for_status()
            session = http.post("/v1/sessions", json={"email": email, "password": PASSWORD})
            session.raise_for_status()
            token, user = session.json()["token"], session.json()["user"]["id"]
            funded = http.post(
                "/v1/topups",
                json={"amount": FUNDS, "asset": "EUR", "card": CARD},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(16)},
            )
            funded.raise_for_status()
            answer = funded.json()
            held = parse_units(answer["amount"], EUR) - parse_units(answer["fee"], EUR)
            return user, token, held

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))


# -- the run ---------------------------------------------------------------------------------------
def _phase(name: str, result: PhaseResult, cpu: float) -> Phase:
    errors = {status: n for status, n in result.statuses.items() if status == 0 or status >= 400}
    answered = len(result.latencies_ms)
    return Phase(
        name,
        answered,
        result.seconds,
        percentile(result.latencies_ms, 0.5),
        percentile(result.latencies_ms, 0.99),
        errors,
        cpu * 1000 / max(1, answered),
    )


def _wal_syncs(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT wal_sync FROM pg_stat_wal")).scalar_one())
    finally:
        engine.dispose()


def run(
    pg_url: str | None,
    connections: list[int],
    seconds: float,
    people: int,
    workers: int = 1,
    progress: Callable[[str], object] = print,
) -> Run:
    """One database: serve, fund, load, count, check."""
    database = "SQLite" if pg_url is None else "PostgreSQL"
    done = Run(database, workers, people, seconds)
    tag = secrets.token_hex(4)
    context = multiprocessing.get_context("spawn")
    with (
        tempfile.TemporaryDirectory(prefix="obolo-bench-payments-") as folder,
        fresh_database(pg_url) as url,
        serving(url, workers, Path(folder)) as server,
        concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as generator,
    ):
        progress(f"{database}: {workers} server process(es); signing up and funding {people} people")
        cast = sign_up(server.base, people, tag)
        payers = tuple(Payer(token, cast[(i + 1) % people][0]) for i, (_, token, _) in enumerate(cast))
        answers: list[tuple[int, int, bytes]] = []
        lost = 0
        for count in connections:
            progress(f"{database}: {count} connections, /healthz then payments, {seconds:g} s each")
            spec = PhaseSpec(server.host, server.port, count, seconds)
            cpu = cpu_seconds(server.pid)
            bare = generator.submit(run_phase, spec).result()
            bare_phase = _phase("GET /healthz", bare, cpu_seconds(server.pid) - cpu)
            statements, commits = server.counters()
            wal = _wal_syncs(url) if pg_url else 0
            cpu, start = cpu_seconds(server.pid), time.time()
            paying = PhaseSpec(
                server.host, server.port, count, seconds, payers, AMOUNT, "EUR", f"{tag}-{count}"
            )
            result = generator.submit(run_phase, paying).result()
            end = time.time()
            pay_phase = _phase("POST /v1/payments", result, cpu_seconds(server.pid) - cpu)
            statements_after, commits_after = server.counters()
            succeeded = sum(1 for _, status, _ in result.payments if 200 <= status < 300)
            if pg_url:
                fsyncs: float | None = (_wal_syncs(url) - wal) / max(1, succeeded)
                source = "pg_stat_wal.wal_sync"
            elif server.fsync_log is not None:
                fsyncs = server.fsyncs_between(start, end) / max(1, succeeded)
                source = "strace"
            else:
                fsyncs, source = None, "not counted (no strace)"
            done.rounds.append(
                Round(
                    count,
                    bare_phase,
                    pay_phase,
                    (statements_after - statements) / max(1, succeeded),
                    (commits_after - commits) / max(1, succeeded),
                    fsyncs,
                    source,
                )
            )
            answers += result.payments
            lost += result.unresolved
        progress(f"{database}: checking every payment in the database")
        done.checks = check_money(url, server, cast, answers, lost)
    return done


def check_money(
    url: str,
    server: Server,
    cast: list[tuple[str, str, int]],
    answers: list[tuple[int, int, bytes]],
    lost: int,
) -> list[Check]:
    """Every 2xx payment moved money exactly once, nothing else moved, wallets as predicted."""
    people = len(cast)
    paid = [(payer, answer_fields(body)) for payer, status, body in answers if 200 <= status < 300]
    refused = [status for _, status, _ in answers if not 200 <= status < 300]
    ids = {fields["id"] for _, fields in paid}
    predicted = [held for _, _, held in cast]
    for payer, fields in paid:
        amount, fee = parse_units(fields["amount"], EUR), parse_units(fields["fee"], EUR)
        predicted[payer] -= amount + fee
        predicted[(payer + 1) % people] += amount
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT m.id, m.amount, t.amount, t.failure FROM movements m "
                    "LEFT JOIN ledger_transfers t ON t.id = m.transfer_id WHERE m.kind = 'payment'"
                )
            ).all()
    finally:
        engine.dispose()
    stored = {row[0] for row in rows}
    single = [r for r in rows if r[2] is None or r[3] is not None or r[1] != r[2]]
    observed = []
    with httpx.Client(base_url=server.base, timeout=60) as http:
        for _, token, _ in cast:
            wallets = http.get("/v1/wallets", headers={"Authorization": f"Bearer {token}"}).json()
            eur = next(w for w in wallets if w["asset"] == "EUR")
            observed.append(parse_units(eur["available"], EUR) + parse_units(eur["reserved"], EUR))
        books = http.get("/v1/ledger/check", headers={"Authorization": f"Bearer {server.admin_token}"}).json()
    wrong = [
        f"person {n}: predicted {p}, found {o}"
        for n, (p, o) in enumerate(zip(predicted, observed, strict=True))
        if p != o
    ]
    return [
        Check(
            "every 2xx payment answered once, with its own movement",
            len(ids) == len(paid),
            f"{len(paid):,} answers, {len(ids):,} distinct movements",
        ),
        Check(
            "the database holds exactly the answered payments",
            stored == ids,
            f"{len(stored):,} payment movements stored, {len(ids):,} answered",
        ),
        Check(
            "each moved its amount by one applied ledger transfer",
            not single,
            f"{len(single)} without one" if single else f"all {len(rows):,}",
        ),
        Check(
            "every wallet holds what the answers predict",
            not wrong,
            "; ".join(wrong[:3]) or f"all {people} equal to the unit",
        ),
        Check(
            "every payment answered definitely (2xx)",
            not refused and not lost,
            f"{len(refused)} refused, {lost} unresolved" if refused or lost else "all",
        ),
        Check(
            "ledger check",
            bool(books.get("ok")),
            "; ".join(books.get("violations", [])[:3]) or "no violation",
        ),
    ]


# -- the report ------------------------------------------------------------------------------------
def targets(run_: Run) -> list[tuple[str, bool, str]]:
    found = []
    for r in run_.rounds:
        where = f"{run_.database}, {r.connections} connections"
        found.append(
            (f"{where}: payments/s >= {RATIO_TARGET} x bare", r.ratio >= RATIO_TARGET, f"{r.ratio:.2f}")
        )
        found.append(
            (f"{where}: p99 <= {P99_TARGET:g} x bare p99", r.p99_ratio <= P99_TARGET, f"{r.p99_ratio:.1f}x")
        )
        if r.fsyncs is not None:
            found.append((f"{where}: fsyncs per payment <= 1", r.fsyncs <= FSYNC_TARGET, f"{r.fsyncs:.2f}"))
        found.append(
            (
                f"{where}: SQL statements per payment <= 10",
                r.statements <= STATEMENT_TARGET,
                f"{r.statements:.1f}",
            )
        )
    return found


HEADER = (
    "connections",
    "payments/s",
    "p50 ms",
    "p99 ms",
    "bare /healthz/s",
    "bare p99 ms",
    "ratio",
    "p99 / bare",
    "statements",
    "commits",
    "fsyncs",
    "CPU ms (bare)",
)


def table_rows(run_: Run) -> list[tuple[str, ...]]:
    return [
        (
            str(r.connections),
            f"{r.payments.per_second:,.0f}",
            f"{r.payments.p50:.1f}",
            f"{r.payments.p99:.1f}",
            f"{r.bare.per_second:,.0f}",
            f"{r.bare.p99:.1f}",
            f"{r.ratio:.2f}",
            f"{r.p99_ratio:.1f}x",
            f"{r.statements:.1f}",
            f"{r.commits:.2f}",
            "—" if r.fsyncs is None else f"{r.fsyncs:.2f}",
            f"{r.payments.cpu_ms:.2f} ({r.bare.cpu_ms:.2f})",
        )
        for r in run_.rounds
    ]


def markdown(runs: list[Run], command: str, machine: str) -> str:
    lines = [
        "## Payments",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}, with `{command}`.",
        "`obolo serve --no-jobs` over a fresh database; one generator process on the same machine",
        "keeps C keep-alive connections busy, each sending the next request when the answer is in",
        "(closed loop, raw asyncio sockets), first on the bare `GET /healthz` (the baseline), then",
        f"`POST /v1/payments` of {AMOUNT} EUR between funded people, each with a new",
        "Idempotency-Key, for the same time. Statements, commits and fsyncs are per 2xx payment:",
        "statements and commits as the server counts them (`obolo_sql_statements`,",
        "`obolo_db_commits` on `/metrics`; an `executemany` is one statement; BEGIN on SQLite counts,",
        "COMMIT is a commit), fsyncs by `strace` on SQLite and `pg_stat_wal.wal_sync` (server-wide)",
        "on PostgreSQL. CPU is the server's, per answer.",
        "",
    ]
    for r in runs:
        lines += [
            f"### {r.database}: {r.workers} server process(es), {r.seconds:g} s a phase, {r.people} people",
            "",
        ]
        lines += ["| " + " | ".join(HEADER) + " |", "| " + " | ".join(["---:"] * len(HEADER)) + " |"]
        lines += ["| " + " | ".join(row) + " |" for row in table_rows(r)]
        lines += ["", "| invariant | held | figure |", "| --- | --- | --- |"]
        lines += [f"| {c.name} | {'yes' if c.ok else '**no**'} | {c.detail} |" for c in r.checks]
        lines += ["", "| target | met | figure |", "| --- | --- | --- |"]
        lines += [f"| {name} | {'yes' if ok else '**no**'} | {value} |" for name, ok, value in targets(r)]
        lines.append("")
    return "\n".join(lines)
