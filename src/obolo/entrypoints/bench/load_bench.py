"""`obolo bench load`: a mixed workload against a real `obolo serve` from several client
processes, then proof that the money adds up exactly as the answers predict.

The server runs as `obolo serve` on a free loopback port over a fresh database (a temp
SQLite file, or a PostgreSQL database created for the run and dropped after it), with
fees on payments, channels, taps and tasks so that fee revenue is exercised. The same
client processes first load the bare `/healthz` (the baseline, at the same concurrency),
then run the mix (`load_scenario`). Afterwards every person's balance is read over the
API, the platform's fee and card-funding accounts and the books check over the operator
API, and each is compared with the prediction to the unit.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

from obolo.adapters.db.engine import database_url
from obolo.entrypoints.bench.load_scenario import HEALTHZ, OPERATIONS, ClientResult, run_client, units
from obolo.entrypoints.bench.server_process import wait_until_serving
from obolo.wallets.model import PlatformAccount

# The fees the bench server charges (basis points, fixed units): every kind of fee is exercised.
FEES = {"payment": (50, 100), "paywall": (500, 0), "tap": (150, 0)}
TASK_FEE, TASK_PAYOUT_FEE = (1000, 0), (200, 0)


@dataclass(frozen=True, slots=True)
class Books:
    """Money as predicted by the answers, or as read back from the server."""

    people: dict[str, tuple[int, int]]  # user id -> (available + reserved, reserved)
    fees: int  # fee revenue
    topped_up: int  # brought in by cards (what the card-funding account gave out)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Figure:
    operation: str
    count: int  # answered requests
    per_second: float
    p50: float
    p99: float
    errors: dict[str, int]
    total_ms: float = 0.0  # the sum of the latencies


@dataclass
class Run:
    database: str
    clients: int
    seconds: float
    baseline: Figure
    figures: list[Figure]
    moved: dict[str, int]
    people: int
    cpu_seconds: tuple[float, float]  # the server's, during the baseline and during the mix
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def per_second(self) -> float:
        return sum(f.per_second for f in self.figures)

    def cpu_ms_per_request(self) -> tuple[float, float]:
        """The server's CPU milliseconds per answered request: bare /healthz, the mix."""
        answered = sum(f.count for f in self.figures)
        bare, mix = self.cpu_seconds
        return bare * 1000 / max(1, self.baseline.count), mix * 1000 / max(1, answered)

    def summary(self) -> str:
        bare, mix = self.cpu_ms_per_request()
        return (
            f"Server CPU per answered request: {bare:.2f} ms for the bare `/healthz`, {mix:.2f} ms in the "
            f"mix. Sign-ups and sign-ins took {self.share('sign-up', 'sign-in'):.0%} of the clients' "
            "time waiting for answers."
        )

    def share(self, *operations: str) -> float:
        """The part of the clients' waiting during the mix spent on these operations."""
        spent = {f.operation: f.total_ms for f in self.figures}
        return sum(spent.get(op, 0.0) for op in operations) / max(1e-9, sum(spent.values()))


def percentile(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q * len(data)))] if data else float("nan")


# -- the invariants --------------------------------------------------------------------------------
def invariants(predicted: Books, observed: Books) -> list[Check]:
    """Each person's balance and reserve, fee revenue and card money exactly as predicted;
    and every unit brought in by cards is in a wallet or in fee revenue."""
    wrong = [
        f"{user}: predicted {want[0]} (reserved {want[1]}), found {observed.people.get(user)}"
        for user, want in sorted(predicted.people.items())
        if observed.people.get(user) != want
    ]
    held = sum(total for total, _ in observed.people.values())
    return [
        Check(
            f"each of {len(predicted.people)} wallets: balance and reserve as predicted",
            not wrong and set(observed.people) == set(predicted.people),
            "; ".join(wrong[:5]) + (f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else "")
            or "all equal to the unit",
        ),
        Check(
            "fee revenue as predicted",
            observed.fees == predicted.fees,
            f"predicted {predicted.fees:,}, found {observed.fees:,} units",
        ),
        Check(
            "money in by cards = successful top-ups",
            observed.topped_up == predicted.topped_up,
            f"predicted {predicted.topped_up:,}, found {observed.topped_up:,} units",
        ),
        Check(
            "money in = wallets + fee revenue",
            observed.topped_up == held + observed.fees,
            f"{observed.topped_up:,} = {held:,} + {observed.fees:,} units",
        ),
    ]


def predicted_books(results: list[ClientResult]) -> Books:
    people = {user: (total, reserved) for r in results for user, (_, total, reserved) in r.people.items()}
    return Books(people, sum(r.fees for r in results), sum(r.topped_up for r in results))


def observed_books(http: httpx.Client, results: list[ClientResult], admin_token: str) -> Books:
    people: dict[str, tuple[int, int]] = {}
    for r in results:
        for user, (token, _, _) in r.people.items():
            answer = http.get("/v1/wallets", headers={"Authorization": f"Bearer {token}"})
            answer.raise_for_status()
            eur = next((w for w in answer.json() if w["asset"] == "EUR"), None)
            if eur is None:
                people[user] = (0, 0)
            else:
                available, reserved = units(eur["available"]), units(eur["reserved"])
                people[user] = (available + reserved, reserved)
    admin = {"Authorization": f"Bearer {admin_token}"}

    def account(kind: PlatformAccount) -> dict[str, str]:
        found = http.get(f"/v1/ledger/accounts/{kind.account_id('EUR')}", headers=admin)
        found.raise_for_status()
        return dict(found.json())

    fees = account(PlatformAccount.FEE_REVENUE)
    cards = account(PlatformAccount.CARD_FUNDING)
    return Books(
        people,
        int(fees["credits_posted"]) - int(fees["debits_posted"]),
        int(cards["debits_posted"]) - int(cards["credits_posted"]),
    )


# -- the server ------------------------------------------------------------------------------------
@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """None: a temp SQLite file. A PostgreSQL URL: a database of our own on that server,
    migrated, and dropped after (with any connection left to it)."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="obolo-bench-load-") as directory:
            yield f"sqlite:///{Path(directory) / 'obolo.db'}"
        return
    from obolo.adapters.db.engine import make_engine
    from obolo.adapters.db.migrate import upgrade

    name = f"obolo_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    # Options such as a search_path name schemas of the server's other database: not ours.
    server = make_url(database_url(url)).difference_update_query(["options"])
    mine = server.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(mine)
        upgrade(engine)
        engine.dispose()
        yield mine
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def server_environment(admin_token: str) -> dict[str, str]:
    return {
        **os.environ,
        "OBOLO_FEES": ",".join(f"{kind}={bp}:{fixed}" for kind, (bp, fixed) in FEES.items()),
        "OBOLO_TASK_FEE": "{}:{}".format(*TASK_FEE),
        "OBOLO_TASK_PAYOUT_FEE": "{}:{}".format(*TASK_PAYOUT_FEE),
        "OBOLO_ADMIN_TOKEN": admin_token,
    }


@contextmanager
def serving(url: str, log: Path, admin_token: str) -> Iterator[tuple[str, int]]:
    """`obolo serve` over `url` on a free loopback port until the block ends; its base URL
    and process id."""
    from obolo.entrypoints.demo_sites import free_port

    port = free_port()
    # The database URL travels in the environment, not on a command line anyone can list.
    command = [
        sys.executable,
        "-c",
        "from obolo.entrypoints.cli import app; app()",
        "serve",
        "--port",
        str(port),
    ]
    environment = {**server_environment(admin_token), "OBOLO_DATABASE_URL": url}
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(server, base, log, seconds=60)
            yield base, server.pid
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# -- the run ---------------------------------------------------------------------------------------
def drive(
    base: str, server: int, clients: int, seconds: float, baseline_seconds: float
) -> tuple[list[ClientResult], float, float]:
    """The client processes: each sets up, then all start together on /healthz, then the mix.
    With the results, the server process's CPU seconds during the baseline and the mix."""
    from obolo.entrypoints.bench.tap_bench import cpu_seconds

    context = multiprocessing.get_context("spawn")
    ready, start, results = context.Queue(), context.Queue(), context.Queue()
    processes = [
        context.Process(
            target=run_client,
            args=(n, base, FEES, baseline_seconds, seconds, ready, start, results),
            daemon=True,
        )
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=300)
        begin = time.time() + 0.5
        for _ in processes:
            start.put(begin)
        time.sleep(max(0.0, begin - time.time()))
        cpu_start = cpu_seconds(server)
        time.sleep(max(0.0, begin + baseline_seconds - time.time()))
        cpu_baseline = cpu_seconds(server)
        answers = [results.get(timeout=baseline_seconds + seconds + 300) for _ in processes]
        cpu_mix = cpu_seconds(server) - cpu_baseline
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failed = [a for a in answers if isinstance(a, str)]
    if failed:
        raise RuntimeError("; ".join(failed))
    return sorted(answers, key=lambda r: r.client), cpu_baseline - cpu_start, cpu_mix


def figures(results: list[ClientResult], operation: str, seconds: float) -> Figure:
    latencies = [ms for r in results for ms in r.latencies.get(operation, [])]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors.get(operation, {}))
    count = len(latencies) + sum(v for k, v in errors.items() if not k[0].isdigit())
    return Figure(
        operation,
        count,
        count / seconds if seconds else 0.0,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        dict(errors),
        sum(latencies),
    )


def run(
    pg_url: str | None,
    clients: int,
    seconds: float,
    baseline_seconds: float,
    progress: Callable[[str], object] = print,
) -> Run:
    """One database: serve, drive, read back, check."""
    database = "SQLite" if pg_url is None else "PostgreSQL"
    admin_token = secrets.token_urlsafe(24)
    with (
        tempfile.TemporaryDirectory(prefix="obolo-bench-load-log-") as folder,
        fresh_database(pg_url) as url,
        serving(url, Path(folder) / "server.log", admin_token) as (base, server),
    ):
        where = "a temp file" if pg_url is None else f"database {make_url(url).database}"
        progress(
            f"{database} ({where}): {clients} clients setting up, then /healthz {baseline_seconds:g} s, "
            f"then the mix {seconds:g} s"
        )
        results, cpu_baseline, cpu_mix = drive(base, server, clients, seconds, baseline_seconds)
        with httpx.Client(base_url=base, timeout=60) as http:
            observed = observed_books(http, results, admin_token)
            check = http.get("/v1/ledger/check", headers={"Authorization": f"Bearer {admin_token}"})
            check.raise_for_status()
            books = check.json()
    load_seconds = max(r.load_seconds for r in results)
    baseline_elapsed = max(r.baseline_seconds for r in results)
    moved: Counter[str] = Counter()
    for r in results:
        moved.update(r.moved)
    done = Run(
        database,
        clients,
        load_seconds,
        figures(results, HEALTHZ, baseline_elapsed),
        [figures(results, op, load_seconds) for op in OPERATIONS],
        dict(moved),
        sum(len(r.people) for r in results),
        (cpu_baseline, cpu_mix),
    )
    done.checks = invariants(predicted_books(results), observed)
    done.checks.append(
        Check("ledger check", bool(books["ok"]), "; ".join(books["violations"][:5]) or "no violation")
    )
    unresolved = [u for r in results for u in r.unresolved]
    surprises = [s for r in results for s in r.surprises]
    done.checks.append(
        Check("every money request answered definitely", not unresolved, "; ".join(unresolved[:5]) or "all")
    )
    done.checks.append(
        Check(
            "every answer as asked (amounts, fees, no decline)",
            not surprises,
            "; ".join(surprises[:5]) or "all",
        )
    )
    server_errors = sum(v for f in done.figures for k, v in f.errors.items() if k.startswith("5"))
    done.checks.append(Check("no 5xx answer", server_errors == 0, f"{server_errors} 5xx answers"))
    return done


# -- the report ------------------------------------------------------------------------------------
def table_rows(run_: Run) -> list[tuple[str, ...]]:
    """(operation, answered, per second, p50 ms, p99 ms, p50 / bare p50, errors) per operation."""
    bare = run_.baseline
    rows: list[tuple[str, ...]] = [
        (
            f"`{HEALTHZ}` (bare)",
            f"{bare.count:,}",
            f"{bare.per_second:,.0f}",
            f"{bare.p50:.1f}",
            f"{bare.p99:.1f}",
            "1.0",
            _errors(bare),
        )
    ]
    for f in run_.figures:
        ratio = f"{f.p50 / bare.p50:.1f}" if f.count and bare.p50 else "—"
        rows.append(
            (
                f.operation,
                f"{f.count:,}",
                f"{f.per_second:,.1f}",
                f"{f.p50:.1f}",
                f"{f.p99:.1f}",
                ratio,
                _errors(f),
            )
        )
    total = sum(f.count for f in run_.figures)
    rows.append(
        (
            "all of the mix",
            f"{total:,}",
            f"{run_.per_second:,.0f}",
            "",
            "",
            f"{run_.per_second / bare.per_second:.2f}x the bare req/s" if bare.per_second else "",
            "",
        )
    )
    return rows


def _errors(f: Figure) -> str:
    return ", ".join(f"{code} x{n}" for code, n in sorted(f.errors.items())) or "none"


HEADER = ("operation", "answered", "req/s", "p50 ms", "p99 ms", "p50 / bare", "errors")


def markdown(runs: list[Run], command: str, machine: str) -> str:
    lines = [
        "## Load",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}, with `{command}`.",
        "`obolo serve` (one process, its background jobs on) over a fresh database; client",
        "processes on the same machine, each one request at a time with its own people, first",
        "loading the bare `/healthz` together (the baseline, same concurrency), then the mix:",
        "sign-ups (and their sign-in), top-ups, payments between people, channels opened and",
        "claimed, retail taps, and tasks posted, accepted, submitted and approved. Fees are on",
        f"(payments {FEES['payment'][0]} bp + {FEES['payment'][1]} units, channels {FEES['paywall'][0]} bp, "
        f"taps {FEES['tap'][0]} bp, tasks {TASK_FEE[0]} bp + {TASK_PAYOUT_FEE[0]} bp). Every request that",
        "moves money carries an Idempotency-Key. Afterwards every wallet, the fee revenue and the",
        "money brought in by cards are read back and compared with what the answers predict, to",
        "the unit, and the books check runs. Sign-ups and sign-ins hash the password with",
        "Argon2 at its default cost, by design the slowest requests here.",
        "",
    ]
    for r in runs:
        lines += [f"### {r.database}: {r.clients} clients, {r.seconds:.0f} s, {r.people} people", ""]
        lines += ["| " + " | ".join(HEADER) + " |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        lines += ["| " + " | ".join(row) + " |" for row in table_rows(r)]
        moved = ", ".join(f"{op} {n:,}" for op, n in sorted(r.moved.items()))
        lines += [
            "",
            f"Money moved by: {moved}.",
            "",
            r.summary(),
            "",
            "| invariant | held | figure |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {c.name} | {'yes' if c.ok else '**no**'} | {c.detail} |" for c in r.checks]
        lines.append("")
    return "\n".join(lines)
