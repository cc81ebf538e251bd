"""Amounts and dates as a person reads them, exactly, in English and Italian."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obolo import locale
from obolo.money import DEFAULT_ASSETS, Amount

EUR = DEFAULT_ASSETS["EUR"]
USD = DEFAULT_ASSETS["USD"]
# 2026-12-03 09:05:00 UTC
NS = 1_796_288_700 * 1_000_000_000


@pytest.mark.parametrize(
    ("units", "english", "italian"),
    [
        (1_000, "€0.001", "0,001\xa0€"),
        (100_000, "€0.10", "0,10\xa0€"),
        (1_234_500_000, "€1,234.50", "1.234,50\xa0€"),
        (-4_000_000, "-€4.00", "-4,00\xa0€"),
        (3, "€0.000003", "0,000003\xa0€"),
        (0, "€0.00", "0,00\xa0€"),
    ],
)
def test_amounts_read_exactly_in_each_language(units: int, english: str, italian: str) -> None:
    assert locale.money(units, EUR, "en") == english
    assert locale.money(units, EUR, "it") == italian


def test_a_number_without_currency_keeps_two_decimals_and_groups() -> None:
    assert locale.number(1_234_500_000, USD, "en") == "1,234.50"
    assert locale.number(1_234_500_000, USD, "it") == "1.234,50"


@settings(max_examples=200)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_every_amount_reads_back_to_the_same_units(units: int) -> None:
    text = locale.number(units, EUR, "it").replace(".", "").replace(",", ".")
    assert Amount.parse(text.lstrip("-"), EUR).units == abs(units)


def test_dates_in_the_persons_language_and_zone() -> None:
    assert locale.date_time(NS, "en") == "3 Dec 2026, 09:05"
    assert locale.date_time(NS, "it", locale.zone("Europe/Rome")) == "3 dic 2026, 10:05"
    assert locale.date(NS, "it") == "3 dic 2026"
    assert locale.zone("Not/AZone") is locale.zone(None)


@pytest.mark.parametrize(("tag", "language"), [("it-IT", "it"), ("IT", "it"), ("en_US", "en"), ("fr", "en")])
def test_language_tags(tag: str, language: str) -> None:
    assert locale.language_of(tag) == language
