"""Amounts and dates in the page's language. Exact: amounts go through `obolo.money`
(integer units) both ways; a float never appears.

Display keeps every significant decimal (0.001 EUR stays 0,001 €) but at least two, so
a tenth of a cent is never shown as 0.00. Input accepts either "." or "," as the decimal
point and no thousands separators: "1.000" is one euro in both languages, stated in the
form's hint, rather than a guess that depends on the language."""

from __future__ import annotations

from datetime import UTC, datetime

from obolo.adapters.clock import NS_PER_SECOND
from obolo.money import Amount, Asset, NotAnAmount, format_units

_SEPARATORS = {"en": (".", ","), "it": (",", ".")}  # (decimal point, thousands)
_SYMBOLS = {"EUR": "€", "USD": "$"}


def number(units: int, asset: Asset, language: str = "en", *, min_decimals: int = 2) -> str:
    """`units` as a decimal in the language's style: 1234500000 EUR units → "1,234.50"
    (en) or "1.234,50" (it)."""
    point, thousands = _SEPARATORS.get(language, _SEPARATORS["en"])
    text = format_units(units, asset)
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    fraction = fraction.ljust(min(min_decimals, asset.scale), "0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + thousands.join(groups) + (point + fraction if fraction else "")


def money(units: int, asset: Asset, language: str = "en") -> str:
    """An amount with its currency: "€0.10" in English, "0,10 €" in Italian."""
    symbol = _SYMBOLS.get(asset.code)
    text = number(units, asset, language)
    if symbol is None:
        return f"{text} {asset.code}"
    if language == "it":
        return f"{text} {symbol}"
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"


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


def plain(units: int, asset: Asset) -> str:
    """An amount as a form field's value, exact, at least two decimals and no grouping
    ("0.10", "2.50", "0.001"), so it reads back in either language."""
    whole, _, fraction = format_units(units, asset).partition(".")
    fraction = fraction.rstrip("0").ljust(min(2, asset.scale), "0")
    return f"{whole}.{fraction}" if fraction else whole


def date_time(ns: int, language: str = "en") -> str:
    moment = datetime.fromtimestamp(ns / NS_PER_SECOND, tz=UTC)
    if language == "it":
        return moment.strftime("%d/%m/%Y %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def day(ns: int, language: str = "en") -> str:
    moment = datetime.fromtimestamp(ns / NS_PER_SECOND, tz=UTC)
    return moment.strftime("%d/%m" if language == "it" else "%m-%d")
