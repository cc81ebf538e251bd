"""Every sentence a product says about a person's money in their history is structured for
translation and has its Italian: each `Described` made in the code carries its `Text`, and
each message written in a `Text.of(...)` is in the pages' Italian catalogue. A day inside a
sentence is written by Babel in the reader's language."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from obolo.entrypoints.web.i18n import IT, translator
from obolo.entrypoints.web.wallet_pages import HISTORY_KIND_LABELS
from obolo.entrypoints.web.wallets_i18n import KIND_NAMES
from obolo.wallets.activity import Day, Described, Text
from obolo.wallets.model import MovementKind

SRC = Path(__file__).resolve().parents[2] / "src" / "obolo"


class _Calls(ast.NodeVisitor):
    """The calls of one name in a module, each with the function it is in."""

    def __init__(self, name: str) -> None:
        self.name, self.function, self.found = name, "", list[tuple[str, int, ast.Call]]()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    def visit_Call(self, node: ast.Call) -> None:
        called = node.func
        if (called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", None)) == self.name:
            self.found.append((self.function, node.lineno, node))
        self.generic_visit(node)


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call of `<something>.<name>(...)` or `<name>(...)` in the code, with its place
    ("wallets/history.py:_fallback:381")."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        calls = _Calls(name)
        calls.visit(ast.parse(path.read_text(encoding="utf-8")))
        where = path.relative_to(SRC)
        found += [(f"{where}:{function}:{line}", call) for function, line, call in calls.found]
    return found


def _literals(node: ast.expr) -> list[str]:
    """The message strings an argument may be: a constant, or either side of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def test_every_description_a_product_makes_carries_its_structured_sentence():
    """`Described(kind, "English")` alone cannot be translated: say it with `Described.of` (or
    pass `text=`)."""
    bare = {
        place.rsplit(":", 1)[0]
        for place, call in _calls("Described")
        if not any(keyword.arg == "text" for keyword in call.keywords)
        and not (isinstance(call.func, ast.Name) and call.func.id == "cls")
    }
    # A transfer no product claims is named by its code's word ("Fee"), a message of its own.
    assert bare - {"wallets/history.py:_fallback"} == set()


def test_every_history_sentence_has_its_italian():
    """Each message written in `Text.of(...)` anywhere in the code is in the Italian catalogue."""
    messages = {
        (place, message)
        for place, call in _calls("of")
        if call.args and isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", "") == "Text"
        for message in _literals(call.args[0])
    }
    assert len(messages) > 50  # the scan found the describers' sentences
    missing = sorted(f"{place}: {message!r}" for place, message in messages if message not in IT)
    assert missing == []


def test_every_kind_of_entry_has_a_name_in_the_filter_and_the_statement():
    """The kind each description says (and each movement's) is named on the history's filter
    and in the CSV statement, in English and Italian: never "refund" or "checkout" as such."""
    said = [call for name in ("Described", "of", "_said") for _place, call in _calls(name)]
    kinds = {
        kind
        for call in said
        if call.args
        and not (isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", "") == "Text")
        for kind in _literals(call.args[0])
    }
    kinds |= {str(kind) for kind in MovementKind}
    assert {"tap", "checkout", "refund", "reward"} <= kinds  # the scan finds them
    assert sorted(kinds - set(KIND_NAMES)) == []
    assert sorted(kinds - set(HISTORY_KIND_LABELS)) == []
    named = set(KIND_NAMES.values()) | set(HISTORY_KIND_LABELS.values())
    assert sorted(name for name in named if name not in IT) == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Metro fares, 3 Dec (capped)"), ("it", "Corse Metro, 3 dic (tetto giornaliero raggiunto)")],
)
def test_a_day_in_a_sentence_is_written_in_the_readers_language(language, expected):
    """20425 days after 1970-01-01 is 3 December 2025: "3 Dec" in English, "3 dic" in Italian."""
    text = Text.of("{site} fares, {day} (capped)", site="Metro", day=Day(20_425))
    assert text.render(translator(language)) == expected


def test_a_day_is_english_without_a_reader_and_iso_for_programs():
    """The description kept in English says "3 Dec"; the API's values carry "2025-12-03"."""
    text = Text.of("Fee: fares, {day}", day=Day(20_425))
    assert text.render() == "Fee: fares, 3 Dec"
    assert {name: str(value) for name, value in text.values} == {"day": "2025-12-03"}


def test_described_of_renders_each_sentence_in_english_beside_its_structure():
    """The English fields a CSV or an API client reads agree with the sentences."""
    said = Described.of(
        "tap",
        Text.of("Tap at {site}", site="Bar"),
        hold=Text.of("Reserved for {site} fares, {day}", site="Bar", day=Day(0)),
        counterparty="Bar",
    )
    assert (said.description, said.hold, said.release, said.counterparty) == (
        "Tap at Bar", "Reserved for Bar fares, 1 Jan", None, "Bar",
    )  # fmt: skip
    assert said.text == Text.of("Tap at {site}", site="Bar")
