"""`obolo bench ledger`: ledger throughput beside the raw database, measured in one run.

For each database and each mode (one transfer per commit; batches of 1,000 and 8,000)
and each account mix (uniform, Zipf-skewed), the same transfer rows are written twice:
through the ledger, and straight into a table with the identical schema (same columns,
indexes and constraints) with plain DBAPI calls — `executemany` on SQLite, binary
`COPY` on PostgreSQL — with the same durability settings. The ratio is the figure;
absolute numbers on a shared 2-core machine mean little.
"""

from __future__ import annotations

import itertools
import os
import platform as host
import random
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text

from obolo.adapters.db.engine import database_url, is_sqlite
from obolo.ledger import Account, Ledger, Transfer
from obolo.ledger.rows import TRANSFER_COLUMNS
from obolo.ledger.store import _TRANSFER_COPY_TYPES

RAW_TABLE = "bench_raw_transfers"
ZIPF_S = 1.1


@dataclass(frozen=True, slots=True)
class Figure:
    database: str
    mode: str
    mix: str
    transfers: int
    ledger_tps: float
    raw_tps: float

    @property
    def ratio(self) -> float:
        return self.ledger_tps / self.raw_tps if self.raw_tps else 0.0


class Mix:
    """Draws (debit, credit) account pairs, never the same account twice."""

    def __init__(self, accounts: int, skewed: bool, seed: int) -> None:
        self.ids = list(range(1, accounts + 1))
        self.rng = random.Random(seed)
        self.cumulative: list[float] | None = None
        if skewed:
            weights = [1 / (rank**ZIPF_S) for rank in range(1, accounts + 1)]
            self.cumulative = list(itertools.accumulate(weights))

    def pairs(self, count: int) -> list[tuple[int, int]]:
        if self.cumulative is None:
            debits = self.rng.choices(self.ids, k=count)
            credits = self.rng.choices(self.ids, k=count)
        else:
            debits = self.rng.choices(self.ids, cum_weights=self.cumulative, k=count)
            credits = self.rng.choices(self.ids, cum_weights=self.cumulative, k=count)
        return [(d, c if c != d else (c % len(self.ids)) + 1) for d, c in zip(debits, credits, strict=True)]


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A throwaway database: a temp file for SQLite, a temp schema for PostgreSQL."""
    if url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="obolo-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def create_raw_table(engine: Engine) -> None:
    """A table with the ledger_transfers schema (columns, indexes, constraints)."""
    with engine.begin() as connection:
        if is_sqlite(engine):
            statements = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'ledger_transfers' AND sql IS NOT NULL"
            ).scalars()
            for sql in statements:
                renamed = sql.replace("ledger_transfers", RAW_TABLE).replace("ix_ledger_", "ix_bench_")
                connection.exec_driver_sql(
                    renamed.replace("pk_ledger", "pk_bench").replace("ck_ledger", "ck_bench")
                )
        else:
            connection.exec_driver_sql(f"CREATE TABLE {RAW_TABLE} (LIKE ledger_transfers INCLUDING ALL)")


def row(transfer_id: int, debit: int, credit: int, timestamp: int) -> tuple[Any, ...]:
    return (
        transfer_id.to_bytes(16, "big"),
        debit.to_bytes(16, "big"),
        credit.to_bytes(16, "big"),
        1_000,
        1_000,
        None,
        "EUR",
        1,
        0,
        0,
        None,
        timestamp,
        None,
    )


class RawWriter:
    """The baseline: the same rows, no ledger logic, through the bare driver."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)

    def write(self, batches: list[list[tuple[Any, ...]]]) -> float:
        # Timed from the pool checkout, as the ledger's calls are.
        started = time.perf_counter()
        with self.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            insert = f"INSERT INTO {RAW_TABLE} ({TRANSFER_COLUMNS}) VALUES ({', '.join(['?'] * 13)})"
            for rows in batches:
                if self.sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                    cursor.executemany(insert, rows)
                    cursor.execute("COMMIT")
                else:
                    with cursor.copy(
                        f"COPY {RAW_TABLE} ({TRANSFER_COLUMNS}) FROM STDIN (FORMAT BINARY)"
                    ) as copy:
                        copy.set_types(_TRANSFER_COPY_TYPES)
                        for values in rows:
                            copy.write_row(values)
                    raw.commit()
            elapsed = time.perf_counter() - started
            connection.rollback()
        return elapsed


def run_database(
    url: str, *, transfers: int, singles: int, accounts: int, progress: Callable[[str], None]
) -> list[Figure]:
    label = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    figures: list[Figure] = []
    with fresh_database(url) as fresh:
        ledger = Ledger.connect(fresh)
        for start in range(1, accounts + 1, 8_000):
            ledger.create_accounts(
                [Account(i, "EUR", 1) for i in range(start, min(accounts, start + 7_999) + 1)]
            )
        create_raw_table(ledger.engine)
        raw = RawWriter(ledger.engine)
        # Rising ids, as recommended to clients (UUIDv7-like).
        next_id = itertools.count(time.time_ns())
        for mode, size, count in (
            ("1 per commit", 1, singles),
            ("batch 1,000", 1_000, transfers),
            ("batch 8,000", 8_000, transfers),
        ):
            for mix_name, skewed in (("uniform", False), ("zipf", True)):
                progress(f"{label}: {mode}, {mix_name}")
                mix = Mix(accounts, skewed, seed=size + skewed)
                pairs = mix.pairs(count)
                ledger_batches = [
                    [Transfer(next(next_id), d, c, 1_000, "EUR", 1) for d, c in pairs[i : i + size]]
                    for i in range(0, count, size)
                ]
                now = time.time_ns()
                raw_batches = [
                    [row(next(next_id), d, c, now) for d, c in pairs[i : i + size]]
                    for i in range(0, count, size)
                ]
                # Ledger and raw batches alternate, so drift (a growing table, a busy
                # neighbour) weighs on both alike.
                ledger_seconds = raw_seconds = 0.0
                for batch, rows in zip(ledger_batches, raw_batches, strict=True):
                    started = time.perf_counter()
                    results = ledger.create_transfers(batch)
                    ledger_seconds += time.perf_counter() - started
                    if results[0] != "ok":
                        raise RuntimeError(f"benchmark transfer refused: {results[0]}")
                    raw_seconds += raw.write([rows])
                figures.append(
                    Figure(label, mode, mix_name, count, count / ledger_seconds, count / raw_seconds)
                )
        ledger.close()
    return figures


def versions(urls: list[str]) -> str:
    parts = [f"{os.cpu_count()} cores", f"Python {host.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    for url in urls:
        if not url.startswith("sqlite"):
            engine = create_engine(url)
            with engine.connect() as connection:
                parts.append(
                    str(connection.execute(text("SHOW server_version")).scalar())
                    .split(" ")[0]
                    .join(["PostgreSQL ", ""])
                )
            engine.dispose()
    return ", ".join(parts)


def targets(figures: list[Figure]) -> list[tuple[str, bool, str]]:
    """Each target of the ledger issue, whether it is met, and the figure that decides."""
    checks: list[tuple[str, bool, str]] = []
    for database in sorted({f.database for f in figures}):
        mine = [f for f in figures if f.database == database]
        batched = [f for f in mine if f.mode.startswith("batch")]
        for f in batched:
            checks.append(
                (f"{database} {f.mode} {f.mix}: ledger >= 50% of raw", f.ratio >= 0.5, f"{f.ratio:.0%}")
            )
        best = max(f.ledger_tps for f in batched)
        checks.append((f"{database}: >= 40,000 transfers/s batched", best >= 40_000, f"{best:,.0f}/s"))
        for mode in ("batch 1,000", "batch 8,000"):
            uniform = next(f for f in mine if f.mode == mode and f.mix == "uniform")
            zipf = next(f for f in mine if f.mode == mode and f.mix == "zipf")
            share = zipf.ledger_tps / uniform.ledger_tps
            checks.append((f"{database} {mode}: skewed >= 80% of uniform", share >= 0.8, f"{share:.0%}"))
        for f in mine:
            if f.mode == "1 per commit":
                checks.append(
                    (f"{database} single {f.mix}: ledger >= 80% of raw", f.ratio >= 0.8, f"{f.ratio:.0%}")
                )
    return checks


def markdown(figures: list[Figure], command: str, machine: str) -> str:
    lines = [
        "## Ledger",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine}, with `{command}`.",
        "SQLite runs in WAL mode with `synchronous=FULL` (every commit durable); PostgreSQL with",
        "`synchronous_commit=on`. The raw baseline writes the same rows into a table with the same",
        "schema (`executemany` on SQLite, binary `COPY` on PostgreSQL), same transaction sizes.",
        "Transfer ids rise, as recommended to clients; 10,000 accounts unless said otherwise;",
        f"Zipf s={ZIPF_S} puts most transfers on a few hot accounts.",
        "",
        "| database | mode | accounts | transfers | ledger transfers/s | raw rows/s | ratio |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        lines.append(
            f"| {f.database} | {f.mode} | {f.mix} | {f.transfers:,} | {f.ledger_tps:,.0f} "
            f"| {f.raw_tps:,.0f} | {f.ratio:.0%} |"
        )
    lines += ["", "| target | met | figure |", "| --- | --- | --- |"]
    lines += [f"| {name} | {'yes' if ok else '**no**'} | {value} |" for name, ok, value in targets(figures)]
    return "\n".join(lines) + "\n"


def replace_section(document: str, section: str, heading: str = "## Ledger") -> str:
    """Put `section` in place of the `heading` section of `document` (or append it). The
    heading is a line of its own: the same words quoted in a paragraph are not it."""
    found = re.search(rf"^{re.escape(heading)}$", document, flags=re.MULTILINE)
    if found is None:
        return (document.rstrip() + "\n\n" + section) if document.strip() else "# Benchmarks\n\n" + section
    before, rest = document[: found.start()], document[found.end() :]
    following = rest.find("\n## ")
    after = rest[following + 1 :] if following >= 0 else ""
    return before + section + ("\n" + after if after else "")


def resolve(urls: list[str]) -> list[str]:
    return [database_url(u) if u != "sqlite" else "sqlite" for u in urls]


def reachable(url: str) -> str | None:
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure means "skip this database"
        return f"{type(error).__name__}"
    return None
