"""Amounts and dates in the page's language. Display goes through `obolo.locale` (Babel,
CLDR data, exact: integer units to a Decimal, never a float), the one formatting rule for
pages, CSV, SMS and emails. Dates are shown in the person's time zone (UTC when unknown).

Input accepts either "." or "," as the decimal point and no thousands separators: "1.000"
is one euro in both languages, stated in the form's hint, rather than a guess that depends
on the language."""

from __future__ import annotations

from datetime import UTC, tzinfo

from babel.numbers import get_decimal_symbol

from obolo import locale
from obolo.money import Amount, Asset, NotAnAmount, format_units


def number(units: int, asset: Asset, language: str = "en") -> str:
    """`units` as a decimal in the language's style: 1234500000 EUR units → "1,234.50"
    (en) or "1.234,50" (it)."""
    return locale.number(units, asset, language)


def money(units: int, asset: Asset, language: str = "en") -> str:
    """An amount with its currency: "€0.10" in English, "0,10 €" in Italian."""
    return locale.money(units, asset, language)


def parse_amount(text: str, asset: Asset) -> Amount:
    """An amount typed into a form: "2.50", "2,50", " 2,5 " all mean 2.50. Raises
    NotAnAmount (also for thousands separators or both marks), TooManyDecimals."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    for symbol in ("€", "$"):
        cleaned = cleaned.removeprefix(symbol).removesuffix(symbol)
    if "," in cleaned and "." in cleaned:
        raise NotAnAmount("use one decimal mark and no thousands separators")
    if cleaned.count(",") > 1:
        raise NotAnAmount("use one decimal mark and no thousands separators")
    return Amount.parse(cleaned.replace(",", "."), asset)


def plain(units: int, asset: Asset, language: str | None = None) -> str:
    """An amount as a form field's value, exact, at least two decimals and no grouping
    ("0.10", "2.50", "0.001"), so it reads back in either language; with a `language`, in
    its decimal mark ("0,10" in Italian), which `parse_amount` reads too. Without one it is
    the API's form ("0.10"), for documents sent on."""
    whole, _, fraction = format_units(units, asset).partition(".")
    fraction = fraction.rstrip("0").ljust(min(2, asset.scale), "0")
    return f"{whole}{decimal_mark(language)}{fraction}" if fraction else whole


def decimal_mark(language: str | None) -> str:
    return "." if language is None else get_decimal_symbol(locale.locale_of(language))


def in_language(decimal: str, language: str) -> str:
    """A plain decimal ("0.10", as the API writes it) with the language's decimal mark."""
    return decimal.replace(".", decimal_mark(language))


def date_time(ns: int, language: str = "en", tz: tzinfo = UTC) -> str:
    """ "3 Dec 2026, 09:05" / "3 dic 2026, 09:05", in the person's zone."""
    return locale.date_time(ns, language, tz)


def date(ns: int, language: str = "en", tz: tzinfo = UTC) -> str:
    return locale.date(ns, language, tz)


def day(ns: int, language: str = "en", tz: tzinfo = UTC) -> str:
    """A chart's axis label: "3 Dec" / "3 dic"."""
    return locale.short_day(ns, language, tz)


def span(seconds: int, language: str = "en") -> str:
    """A span of time, exact: "1 day" / "1 giorno", "90 minutes" / "90 minuti"."""
    return locale.span(seconds, language)
