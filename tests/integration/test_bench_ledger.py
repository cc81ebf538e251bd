"""The ledger benchmark runs end to end and writes its section (targets are reported,
never asserted: timing belongs to benchmarks, not to tests)."""

from typer.testing import CliRunner

from obolo.entrypoints.bench.ledger_bench import replace_section
from obolo.entrypoints.cli import app


def test_bench_ledger_prints_ratios_and_writes_its_section(tmp_path):
    """A tiny run prints ledger and raw figures side by side and fills '## Ledger'."""
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\n## Paywall\n\nkept\n")
    result = CliRunner().invoke(
        app,
        ["bench", "ledger", "--n", "2000", "--singles", "20", "--accounts", "100", "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    assert "ratio" in result.output
    text = output.read_text()
    assert "## Paywall\n\nkept" in text
    assert "| SQLite | batch 8,000 | zipf |" in text
    assert "synchronous=FULL" in text


def test_replace_section_keeps_the_other_sections():
    """Only the Ledger section is replaced; what follows it survives."""
    document = "# B\n\n## Ledger\n\nold\n\n## Paywall\n\nmine\n"
    assert (
        replace_section(document, "## Ledger\n\nnew\n") == "# B\n\n## Ledger\n\nnew\n\n## Paywall\n\nmine\n"
    )


def test_bench_paywall_prints_the_ratio_to_bare_sha256(tmp_path):
    """The verifier benchmark prints both figures and writes its own section."""
    output = tmp_path / "benchmarks.md"
    result = CliRunner().invoke(
        app, ["bench", "paywall", "--payments", "2000", "--requests", "20", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "bare sha256" in result.output
    assert "## Paywall verifier" in output.read_text()
