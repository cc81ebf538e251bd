"""The tap benchmark runs end to end against the real server and writes its section
(targets are reported, never asserted: timing belongs to benchmarks, not to tests)."""

import re

from typer.testing import CliRunner

from obolo.entrypoints.cli import app


def test_bench_tap_prints_taps_beside_the_bare_endpoint_and_writes_its_section(tmp_path):
    """Two tiny runs answer every request, decline no tap, and fill '## Tap' beside the
    others with the median run and every run's server p99."""
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\n## Ledger\n\nkept\n")
    command = ["bench", "tap", "--rate", "40", "--seconds", "1", "--cards", "60", "--runs", "2", "--output"]
    result = CliRunner().invoke(app, [*command, str(output)])
    assert result.exit_code == 0, result.output
    assert result.output.count("/livez: 40 of 40 answered") == 2
    assert "run 2 of 2" in result.output
    assert "/healthz: 40 of 40 answered" in result.output
    assert "POST /v1/taps: 40 of 40 answered" in result.output
    assert "declined taps 0" in result.output
    text = output.read_text()
    assert "## Ledger\n\nkept" in text
    assert "| `POST /v1/taps` | 40 |" in text
    assert "--runs 2" in text
    tails = re.search(r"met in (\d) of 2: server p99 ([\d.]+), ([\d.]+) ms", text)
    assert tails is not None, text
    printed = re.search(r"met in (\d) of 2 \(([\d.]+), ([\d.]+) ms\)", result.output)
    assert printed is not None
    assert printed.groups() == tails.groups()
