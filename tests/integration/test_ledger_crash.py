"""A writer killed with SIGKILL in the middle of a large batch: afterwards the database
opens, the books hold, and every batch is in the ledger entirely or not at all.

The writer (`ledger_worker crash`) loops over 8,000-transfer batches, each with its own
id range, and says when each batch's transaction begins, commits and returns. The test
lets one batch complete, kills the writer part-way through the next one's transaction
(at a random moment, or, every other round, right after all its transfer rows were
written), checks, then starts a new writer that first retries the batch that was cut
off, and kills that one too: several rounds on the same database.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text

from obolo.ledger import Ledger
from obolo.ledger.check import check_ledger
from tests.integration import ledger_worker as lw

ROUNDS = 6


@dataclass
class _Round:
    lines: list[str] = field(default_factory=list)
    in_flight: int | None = None  # the batch whose transaction was open (or committing) at the kill
    before_commit: bool = False  # killed inside the transaction, before COMMIT was sent
    done: dict[int, dict[str, int]] = field(default_factory=dict)
    inserted: bool = False  # the kill came after the batch's transfer rows were written


def _read_lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put((time.monotonic(), line.strip()))
    into.put((time.monotonic(), None))


def _next_line(lines: queue.Queue, seen: list[str], timeout: float = 60) -> tuple[float, str]:
    at, line = lines.get(timeout=timeout)
    assert line is not None, "the writer died on its own:\n" + "\n".join(seen)
    seen.append(line)
    return at, line


def _in_transaction(admin, app: str) -> bool:
    with admin.connect() as connection:
        rows = connection.execute(
            text("SELECT xact_start IS NOT NULL FROM pg_stat_activity WHERE application_name = :app"),
            {"app": app},
        ).fetchall()
    return any(row[0] for row in rows)


def _gone(admin, app: str, timeout: float = 15) -> None:
    """Wait until the server has noticed the dead client and ended its session."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with admin.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"), {"app": app}
            ).scalar()
        if not left:
            return
        time.sleep(0.02)
    raise AssertionError(f"PostgreSQL still has a session for {app} after {timeout}s")


def _crash_round(url: str, first: int, rng: random.Random, admin=None, *, at_insert: bool = False) -> _Round:
    """Run a writer from batch `first`; kill it inside batch first + 1, at a random moment
    of its transaction or (`at_insert`) once all its transfer rows are written."""
    app = f"obolo-crash-{uuid.uuid4().hex[:8]}"
    worker_url = url if admin is None else f"{url}{'&' if '?' in url else '?'}application_name={app}"
    process = lw.start("crash", worker_url, first, int(at_insert))
    process.stdin.close()  # type: ignore[union-attr]
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    result = _Round()
    try:
        # Let one batch run to the end, timing its transaction.
        began = committing = 0.0
        while True:
            at, line = _next_line(lines, result.lines)
            if line == f"txn {first}":
                began = at
            elif line == f"commit {first}":
                committing = at
            elif line.startswith(f"done {first} "):
                break
        # Kill the next one part-way through its transaction.
        while _next_line(lines, result.lines)[1] != f"txn {first + 1}":
            pass
        opened = time.monotonic()
        if at_insert:
            while _next_line(lines, result.lines)[1] != f"inserted {first + 1}":
                pass
        elif admin is not None:
            while not _in_transaction(admin, app):
                assert time.monotonic() - opened < 10, "the writer never opened its transaction"
                time.sleep(0.002)
        if not at_insert:
            time.sleep(max(0.0, opened + rng.uniform(0.05, 0.95) * (committing - began) - time.monotonic()))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except AssertionError as error:  # the writer failed on its own: show why
        process.wait(timeout=30)
        raise AssertionError(f"{error}\n{process.stderr.read()}") from None  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    while (item := lines.get(timeout=30)[1]) is not None:
        result.lines.append(item)
    if admin is not None:
        _gone(admin, app)

    for line in result.lines:
        word, k, *rest = line.split(" ", 2)
        if word == "txn":
            result.in_flight = int(k)
        elif word == "inserted":
            result.inserted = True
        elif word == "done":
            result.done[int(k)] = json.loads(rest[0])
            result.in_flight = None
    if result.in_flight is not None:
        result.before_commit = f"commit {result.in_flight}" not in result.lines
    assert process.returncode == -signal.SIGKILL
    return result


def _count(ledger: Ledger, k: int) -> dict[str, int]:
    lo, hi = (i.to_bytes(16, "big") for i in lw.crash_ids(k))
    sqlite = ledger.engine.dialect.name == "sqlite"
    between = "id >= ? AND id <= ?" if sqlite else "id >= %(lo)s AND id <= %(hi)s"
    params = (lo, hi) if sqlite else {"lo": lo, "hi": hi}
    counts = {}
    with ledger.engine.connect() as connection:
        for name, table, applied in (
            ("transfers", "ledger_transfers", " AND failure IS NULL"),
            ("failed", "ledger_transfers", " AND failure IS NOT NULL"),
            ("pending", "ledger_pending_transfers", ""),
        ):
            counts[name] = connection.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE {between}{applied}", params
            ).scalar()
    return counts


def _verify(url: str, attempted: int, done: set[int]) -> set[int]:
    """Open the database, prove the books and all-or-none per batch; the complete batches."""
    ledger = Ledger.connect(url)
    try:
        if ledger.engine.dialect.name == "sqlite":
            with ledger.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert check_ledger(ledger.engine) == []
        complete = set()
        for k in range(attempted + 1):
            counts = _count(ledger, k)
            assert counts in ({"transfers": 0, "failed": 0, "pending": 0}, lw.CRASH_COUNTS), (
                f"batch {k} is partly there: {counts}"
            )
            if counts == lw.CRASH_COUNTS:
                complete.add(k)
        assert done <= complete, f"batches {sorted(done - complete)} returned but are missing"
        expected = {a: [0, 0, 0, 0] for a in lw.CRASH_ACCOUNTS}
        for k in sorted(complete):
            expected = lw.expected_totals(expected, lw.crash_fresh_results(k), lw.crash_holds(k))
        assert lw.totals_of(ledger.lookup_accounts(lw.CRASH_ACCOUNTS)) == expected
        return complete
    finally:
        ledger.close()


def _crash_rounds(url: str, admin=None) -> None:
    ledger = Ledger.connect(url)
    lw.setup_crash(ledger)
    ledger.close()
    rng = random.Random(1_234)
    first, attempted, done, cut = 0, 0, set(), 0
    for number in range(ROUNDS):
        round_ = _crash_round(url, first, rng, admin, at_insert=number % 2 == 1)
        assert round_.inserted == (number % 2 == 1)
        for k, counts in round_.done.items():
            # A first run applies the batch; a retry of one that had committed echoes it.
            assert counts in (lw.CRASH_FRESH, lw.CRASH_RETRY), (k, counts)
        done |= set(round_.done)
        attempted = max([attempted, *round_.done, round_.in_flight or 0])
        complete = _verify(url, attempted, done)
        cut += round_.before_commit
        # The next writer first retries the batch that was cut off (a client retrying).
        first = round_.in_flight if round_.in_flight is not None else max(round_.done) + 1
        if round_.before_commit:
            assert round_.in_flight not in complete, "a batch killed before COMMIT is in the ledger"
    assert cut >= ROUNDS - 1, f"only {cut} of {ROUNDS} kills landed inside a transaction"
    assert attempted >= ROUNDS
    cli = lw.cli_check(url)
    assert cli.returncode == 0, cli.stdout + cli.stderr


def test_sqlite_writer_killed_mid_batch_leaves_every_batch_all_or_nothing(sqlite_url):
    """SQLite writer SIGKILLed mid-batch: the books hold and every batch is all there or absent."""
    _crash_rounds(sqlite_url)


def test_postgres_writer_killed_mid_batch_leaves_every_batch_all_or_nothing(postgres_url):
    """PostgreSQL client SIGKILLed mid-batch: the books hold and every batch is all there or absent."""
    admin = create_engine(postgres_url.split("?", 1)[0])  # the server's view, outside the schema
    try:
        _crash_rounds(postgres_url, admin)
    finally:
        admin.dispose()
