"""docs/protocol.md backs each line of what every client sends and gets with a test: every
test it names exists, so the protocol cannot claim what no test shows."""

from __future__ import annotations

import re

from tests.unit.test_security_doc import NAMED, ROOT, defined_tests


def test_every_test_the_protocol_names_exists():
    """Each `tests/…py::test_…` in docs/protocol.md is a test function in that file."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    named = NAMED.findall(text)
    assert len(named) >= 10
    missing = [f"{f}::{t}" for f, t in named if not (ROOT / f).exists() or t not in defined_tests(ROOT / f)]
    assert missing == []
    table = text.split("### What each client sends and gets", 1)[1].split("\n\n")[2]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows
    assert all(re.search(r"`tests/[\w/]+\.py::test_\w+`", row) for row in rows)
