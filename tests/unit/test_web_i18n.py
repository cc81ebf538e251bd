"""The pages' languages: negotiation, a complete Italian catalogue, exact amounts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obolo.entrypoints.web import format as fmt
from obolo.entrypoints.web.charts import nice_ceiling
from obolo.entrypoints.web.i18n import IT, negotiate, translator
from obolo.money import EUR, Amount, NotAnAmount, TooManyDecimals

WEB = Path(__file__).parents[2] / "src" / "obolo" / "entrypoints" / "web"
# _("...") in templates, page.t("...") / t("...") in the page modules (literal first argument).
_TEMPLATE_CALL = re.compile(r"""_\(\s*(["'])((?:(?!\1).)+)\1""")
_CODE_CALL = re.compile(r"""\bt\(\s*\n?\s*"((?:[^"\\]|\\.)+)"(?:\s*\n?\s*"((?:[^"\\]|\\.)+)")?""")


def english_messages() -> set[str]:
    found: set[str] = set()
    for template in (WEB / "templates").rglob("*.html"):
        found.update(match.group(2) for match in _TEMPLATE_CALL.finditer(template.read_text()))
    for module in WEB.glob("*.py"):
        for match in _CODE_CALL.finditer(module.read_text()):
            found.add(match.group(1) + (match.group(2) or ""))
    return found


def test_every_message_on_the_pages_has_an_italian_translation():
    """A page in Italian never falls back to English for a message of ours."""
    messages = english_messages()
    assert len(messages) > 100  # the extraction itself works
    missing = sorted(m for m in messages if m not in IT)
    assert missing == []


def test_italian_translations_keep_their_placeholders():
    """A translation names the same {placeholders} as its English text."""
    for english, italian in IT.items():
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", italian)), english


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        ("it-IT,it;q=0.9,en;q=0.8", None, "it"),
        ("en-GB,en;q=0.9,it;q=0.8", None, "en"),
        ("de-DE,de;q=0.9,it;q=0.5", None, "it"),
        ("fr, de", None, "en"),
        (None, None, "en"),
        ("it;q=0, en;q=0.1", None, "en"),
        ("it;q=garbage", None, "en"),
        ("en", "it", "it"),
        ("it", "xx", "it"),
    ],
)
def test_the_language_is_the_choice_else_the_browser_else_english(header, cookie, expected):
    """The switch wins; otherwise the best-ranked language we speak; otherwise English."""
    assert negotiate(header, cookie) == expected


def test_a_missing_translation_shows_english_with_its_values():
    """Unknown messages come back in English, placeholders filled."""
    assert translator("it")("No such {thing}", thing="x") == "No such x"
    assert translator("it")("Sign in") == "Accedi"


@pytest.mark.parametrize(
    ("units", "language", "expected"),
    [
        (100_000, "en", "€0.10"),
        (100_000, "it", "0,10\u00a0€"),
        (1_000, "en", "€0.001"),
        (1, "it", "0,000001\u00a0€"),
        (1_234_567_500_000, "en", "€1,234,567.50"),
        (1_234_567_500_000, "it", "1.234.567,50\u00a0€"),
        (-2_500_000, "en", "-€2.50"),
        (0, "en", "€0.00"),
    ],
)
def test_amounts_are_written_exactly_in_the_page_language(units, language, expected):
    """Every significant decimal is shown (never rounded), in the language's style."""
    assert fmt.money(units, EUR, language) == expected


@pytest.mark.parametrize(
    ("text", "units"),
    [("2.50", 2_500_000), ("2,50", 2_500_000), (" 2,5 ", 2_500_000), ("0,000001", 1), ("€3", 3_000_000)],
)
def test_typed_amounts_accept_either_decimal_mark(text, units):
    """A point or a comma is the decimal mark; the value is exact."""
    assert fmt.parse_amount(text, EUR) == Amount(units, EUR)


@pytest.mark.parametrize("text", ["1.000,50", "1,000.50", "1,2,3", "abc", "", "1e3", "0.1234567"])
def test_ambiguous_or_bad_amounts_are_refused_not_guessed(text):
    """Thousands separators, two marks, exponents and extra decimals are refused."""
    with pytest.raises((NotAnAmount, TooManyDecimals)):
        fmt.parse_amount(text, EUR)


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["en", "it"]))
def test_a_written_amount_reads_back_to_the_same_units(units, language):
    """number() then parse_amount() is the identity, in both languages (once separators go)."""
    written = fmt.number(units, EUR, language)
    thousands = "," if language == "en" else "."
    assert fmt.parse_amount(written.replace(thousands, ""), EUR).units == units


@pytest.mark.parametrize(
    ("units", "ceiling"),
    [(0, 1), (1, 1), (3, 5), (1_050_000, 2_000_000), (1_000_000, 1_000_000), (2_100_000, 2_500_000),
     (2_600_000, 5_000_000), (7_000_000, 10_000_000), (99, 100)],
)  # fmt: skip
def test_chart_axes_end_on_a_round_amount_at_or_above_the_peak(units, ceiling):
    """The chart's top line is 1, 2, 2.5 or 5 times a power of ten, never below the peak."""
    assert nice_ceiling(units) == ceiling
