"""A bench rewrites its own section of docs/benchmarks.md and nothing else."""

from obolo.entrypoints.bench.ledger_bench import replace_section

DOCUMENT = """# Benchmarks

## Load

See `## Payments` below for the method.

## Payments

old figures

## Payments: reading the figures

kept
"""


def test_the_section_is_found_by_its_heading_line_not_by_the_same_words_in_a_paragraph():
    written = replace_section(DOCUMENT, "## Payments\n\nnew figures\n", "## Payments")
    assert "See `## Payments` below for the method." in written
    assert "old figures" not in written
    assert written.count("new figures") == 1
    assert written.index("## Load") < written.index("new figures") < written.index("## Payments: reading")
    assert written.endswith("## Payments: reading the figures\n\nkept\n")


def test_a_missing_section_is_appended():
    written = replace_section("# Benchmarks\n\n## Load\n\nx\n", "## Tap\n\nnew\n", "## Tap")
    assert written.endswith("## Load\n\nx\n\n## Tap\n\nnew\n")
