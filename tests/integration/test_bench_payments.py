"""The payments benchmark end to end, briefly: `obolo serve` on a fresh database, a few
funded people, closed-loop payments beside the bare /healthz, and every payment found in
the database as answered. Counts and invariants are asserted, never the speed."""

from __future__ import annotations

import os
import shutil

import pytest
from typer.testing import CliRunner

from obolo.entrypoints.cli import app
from tests.conftest import _pg_unavailable
from tests.integration.test_payment_hot_path import STATEMENTS_PER_PAYMENT

INVARIANTS = (
    "every 2xx payment answered once, with its own movement",
    "the database holds exactly the answered payments",
    "each moved its amount by one applied ledger transfer",
    "every wallet holds what the answers predict",
    "every payment answered definitely (2xx)",
    "ledger check",
)


def rows(section: str) -> dict[str, list[str]]:
    found = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            found[cells[0]] = cells[1:]
    return found


def bench(tmp_path, *database: str) -> str:
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\n## Payments\n\nold figures\n\n## Tap\n\nkept\n")
    arguments = ["bench", "payments", "--connections", "2", "--seconds", "1.5", "--people", "4"]
    result = CliRunner().invoke(app, [*arguments, *database, "--output", str(output)])
    assert result.exit_code == 0, result.output
    written = output.read_text()
    assert "## Tap\n\nkept" in written
    assert "old figures" not in written
    return written.split("## Payments", 1)[1].split("\n## ", 1)[0]


def assert_counted(section: str, *, fsyncs: bool) -> None:
    table = rows(section)
    (payments, _, _, bare, *_, statements, commits, fsync, _cpu) = table["2"]
    assert int(payments.replace(",", "")) > 0
    assert int(bare.replace(",", "")) > 0
    # Counted by the server itself on /metrics, per payment answered; above a warm payment's
    # by the first reads of each wallet and a session checked again every 2 s.
    assert 5 <= float(statements) <= STATEMENTS_PER_PAYMENT + 1
    # One commit per payment alone; fewer when the writer commits concurrent payments together.
    assert 0 < float(commits) <= 4
    if fsyncs:
        assert float(fsync) > 0  # a durable commit costs at least one
    for name in INVARIANTS:
        assert table[name][0] == "yes", (name, table[name])


def test_payments_bench_on_sqlite(tmp_path):
    """On SQLite: payments and /healthz answered, statements, commits and (with strace)
    fsyncs counted, and the money exactly as the answers say."""
    assert_counted(bench(tmp_path), fsyncs=shutil.which("strace") is not None)


def test_payments_bench_on_postgres(tmp_path):
    """The same on PostgreSQL, with fsyncs from pg_stat_wal."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    assert_counted(
        bench(tmp_path, "--no-sqlite", "--database-url", os.environ["OBOLO_TEST_PG_URL"]), fsyncs=True
    )
