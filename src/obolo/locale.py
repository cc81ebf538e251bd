"""What a person reads, in their language: amounts and times formatted by Babel (CLDR data),
exactly.

Amounts go from integer units to a `Decimal` through `obolo.money` (never a float) and are
shown with every significant decimal but at least the currency's usual two, so a tenth of a
cent reads "0,001 €" and never "0,00 €". Times are shown in the person's time zone (UTC when
none is known). Pages, CSV files, SMS replies, emails and the widget all format through here,
so one rule holds wherever money reaches a person.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit

from obolo.money import Asset, format_units

LANGUAGES = ("en", "it")
DEFAULT_LANGUAGE = "en"
#: The CLDR locale each language is formatted with.
_LOCALES = {"en": "en_GB", "it": "it_IT"}
_NS_PER_SECOND = 1_000_000_000
#: Units a span is told in, largest first, in seconds.
SPAN_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def language_of(text: str | None) -> str:
    """One of LANGUAGES for a tag such as "it", "it-IT", "IT" or "en_US"; English otherwise."""
    primary = (text or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def locale_of(language: str) -> Locale:
    return Locale.parse(_LOCALES.get(language_of(language), _LOCALES[DEFAULT_LANGUAGE]))


def zone(name: str | None) -> tzinfo:
    """The time zone named (IANA, e.g. "Europe/Rome"), else UTC."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def decimal_of(units: int, asset: Asset) -> Decimal:
    """The exact decimal value of `units` at the asset's scale, without trailing zeros."""
    value = Decimal(format_units(units, asset))
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def money(units: int, asset: Asset, language: str = DEFAULT_LANGUAGE) -> str:
    """ "€0.10" / "0,10 €"; "€0.001" / "0,001 €"; "-€4.00" / "-4,00 €". Exact, and at least two
    decimals (for a currency whose scale allows them)."""
    value = decimal_of(units, asset)
    if asset.scale >= 2 and -value.as_tuple().exponent < 2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return format_currency(value, asset.code, locale=locale_of(language), decimal_quantization=False)


def number(units: int, asset: Asset, language: str = DEFAULT_LANGUAGE) -> str:
    """The amount without its currency, grouped for the language: "1,234.50" / "1.234,50"."""
    pattern = "#,##0.00" if asset.scale >= 2 else "#,##0"
    return format_decimal(
        decimal_of(units, asset), pattern, locale=locale_of(language), decimal_quantization=False
    )


def moment(ns: int, tz: tzinfo = UTC) -> datetime:
    return datetime.fromtimestamp(ns // _NS_PER_SECOND, tz=UTC).astimezone(tz)


def date_time(ns: int, language: str = DEFAULT_LANGUAGE, tz: tzinfo = UTC) -> str:
    """ "3 Dec 2026, 09:05" / "3 dic 2026, 09:05"."""
    locale = locale_of(language)
    when = moment(ns, tz)
    return f"{format_date(when, 'medium', locale=locale)}, {format_time(when, 'HH:mm', locale=locale)}"


def date(ns: int, language: str = DEFAULT_LANGUAGE, tz: tzinfo = UTC) -> str:
    """ "3 Dec 2026" / "3 dic 2026"."""
    return format_date(moment(ns, tz), "medium", locale=locale_of(language))


def short_day(ns: int, language: str = DEFAULT_LANGUAGE, tz: tzinfo = UTC) -> str:
    """A chart's axis label: "3 Dec" / "3 dic"."""
    return format_datetime(moment(ns, tz), "d MMM", locale=locale_of(language))


def span_in_units(seconds: int) -> tuple[int, str]:
    """(count, unit) in the largest unit that tells `seconds` exactly: 86400 → (1, "day"),
    5400 → (90, "minute"), 90 → (90, "second"); never rounded."""
    for unit, size in SPAN_UNITS:
        if seconds and seconds % size == 0:
            return seconds // size, unit
    return seconds, "second"


def span(seconds: int, language: str = DEFAULT_LANGUAGE) -> str:
    """A span of time, exact, in words: "1 day" / "1 giorno", "90 minutes" / "90 minuti"."""
    count, unit = span_in_units(seconds)
    return format_unit(count, f"duration-{unit}", locale=locale_of(language))
