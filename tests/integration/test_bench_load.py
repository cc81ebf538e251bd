"""The load benchmark end to end: `obolo serve` on a fresh database, two client processes
for a few seconds, and every wallet, the fees and the books found as the answers predict
(timings are reported, never asserted: they belong to benchmarks, not to tests)."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from obolo.entrypoints.bench.load_scenario import OPERATIONS
from obolo.entrypoints.cli import app

INVARIANTS = (
    "balance and reserve as predicted",
    "fee revenue as predicted",
    "money in by cards = successful top-ups",
    "money in = wallets + fee revenue",
    "ledger check",
    "every money request answered definitely",
    "every answer as asked",
    "no 5xx answer",
)


def rows(section: str) -> dict[str, list[str]]:
    """The table's rows by their first cell."""
    found = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            found[cells[0]] = cells[1:]
    return found


def run_load(tmp_path, *database: str) -> tuple[str, str]:
    """The '## Load' section written, and what the command printed."""
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\n## Ledger\n\nkept\n\n## Load\n\nold figures\n\n## Tap\n\nkept too\n")
    arguments = ["bench", "load", "--seconds", "3", "--clients", "2", "--baseline-seconds", "1"]
    result = CliRunner().invoke(app, [*arguments, *database, "--output", str(output)])
    assert result.exit_code == 0, result.output
    text_written = output.read_text()
    assert "## Ledger\n\nkept" in text_written
    assert "## Tap\n\nkept too" in text_written
    assert "old figures" not in text_written
    return text_written.split("## Load", 1)[1].split("\n## ", 1)[0], result.output


def assert_held(section: str) -> None:
    table = rows(section)
    assert int(table["`GET /healthz` (bare)"][0].replace(",", "")) > 0
    for operation in OPERATIONS:
        answered, _, _, _, _, errors = table[operation]
        assert int(answered.replace(",", "")) > 0, operation
        assert errors == "none", (operation, errors)
    for name in INVARIANTS:
        verdicts = [cells[0] for first, cells in table.items() if name in first]
        assert verdicts == ["yes"], (name, section)


def test_bench_load_on_sqlite_finds_every_unit_where_the_answers_put_it(tmp_path):
    """Two clients for three seconds on SQLite: every operation answered without error, every
    wallet, the fee revenue and the card money equal to the prediction, the books clean."""
    section, _ = run_load(tmp_path)
    assert "### SQLite: 2 clients" in section
    assert_held(section)


def test_bench_load_on_postgresql_in_a_database_of_its_own(tmp_path, postgres_url):
    """The same on PostgreSQL, in a database the bench creates and drops again."""
    server = postgres_url.split("?", 1)[0]
    section, printed = run_load(tmp_path, "--no-sqlite", "--pg", server)
    assert "### PostgreSQL: 2 clients" in section
    assert "SQLite" not in section.split("###", 1)[1]
    assert_held(section)
    (name,) = re.findall(r"database (obolo_load_[0-9a-f]+)", printed)
    engine = create_engine(server)
    with engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
        assert left.scalar_one() == 0
    engine.dispose()
