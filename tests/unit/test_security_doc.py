"""docs/security.md names, for each threat, the tests that show the defence: every test it
names exists, so a renamed or deleted test cannot leave the threat model pointing at nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
SHORT = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_test_the_threat_model_names_exists():
    """Each `file::test` in docs/security.md is a test function in that file."""
    text = (ROOT / "docs" / "security.md").read_text()
    named = NAMED.findall(text)
    assert len(named) > 30
    short = [(f"tests/integration/{f}", t) for f, t in SHORT.findall(text)]
    missing = [
        f"{file}::{test}"
        for file, test in named + short
        if not (ROOT / file).exists() or test not in defined_tests(ROOT / file)
    ]
    assert missing == []
