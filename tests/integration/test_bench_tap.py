"""The tap benchmark runs end to end against the real server and writes its section
(targets are reported, never asserted: timing belongs to benchmarks, not to tests)."""

from typer.testing import CliRunner

from obolo.entrypoints.cli import app


def test_bench_tap_prints_taps_beside_the_bare_endpoint_and_writes_its_section(tmp_path):
    """A tiny run answers every request, declines no tap, and fills '## Tap' beside the others."""
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\n## Ledger\n\nkept\n")
    result = CliRunner().invoke(
        app, ["bench", "tap", "--rate", "40", "--seconds", "1", "--cards", "60", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "/livez: 40 of 40 answered" in result.output
    assert "/healthz: 40 of 40 answered" in result.output
    assert "POST /v1/taps: 40 of 40 answered" in result.output
    assert "declined taps 0" in result.output
    text = output.read_text()
    assert "## Ledger\n\nkept" in text
    assert "| `POST /v1/taps` | 40 |" in text
