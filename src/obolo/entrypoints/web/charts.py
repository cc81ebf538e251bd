"""Bar charts as server-rendered SVG: no JavaScript library, nothing to load, works
under the pages' CSP. Heights are integer arithmetic on units (a bar's pixels are
units x height // the largest day), so no amount passes through a float on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = ["#0b6e4f", "#c2410c", "#1d4ed8", "#7e22ce", "#a16207", "#5a6472"]
# The amount axis is on the right: on a phone the chart scrolls and opens at today's end.
WIDTH, HEIGHT, LEFT, RIGHT, BOTTOM, TOP = 640, 220, 8, 72, 24, 8


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG and its legend: (colour class, name, total as text) per series."""

    svg: Markup
    legend: list[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: dict[int, int]  # day (ns) -> units
    total: int


def stacked_bars(
    days: list[int],
    series: list[Series],
    *,
    label: str,
    day_label: Callable[[int], str],
    amount_label: Callable[[int], str],
) -> Markup:
    """A stacked bar per day, one colour per series (the sixth and later share grey).
    `day_label(day)` and `amount_label(units)` write the axis texts in the page's language."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM - TOP
    totals = [sum(s.values.get(day, 0) for s in series) for day in days]
    peak = nice_ceiling(max(totals, default=0))
    slot = plot_w // max(len(days), 1)
    bar = max(slot - 4, 2)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="13" font-family="system-ui, sans-serif">',
        f"<title>{escape(label)}</title>",
    ]
    for step in range(3):  # gridlines at 0, half and the peak
        units = peak * step // 2
        y = TOP + plot_h - plot_h * step // 2
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="#d9dee5"/>')
        parts.append(
            f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4}" text-anchor="start" fill="#5a6472">'
            f"{escape(amount_label(units))}</text>"
        )
    for index, day in enumerate(days):
        x = LEFT + index * slot + 2
        base = TOP + plot_h
        for number, one in enumerate(series):
            units = one.values.get(day, 0)
            if not units:
                continue
            height = max(units * plot_h // peak, 1)
            base -= height
            colour = COLOURS[min(number, len(COLOURS) - 1)]
            parts.append(
                f'<rect x="{x}" y="{base}" width="{bar}" height="{height}" fill="{colour}">'
                f"<title>{escape(one.name)}: {escape(amount_label(units))} "
                f"({escape(day_label(day))})</title></rect>"
            )
        if index == len(days) - 1 or (index % 7 == 0 and index < len(days) - 4):
            parts.append(
                f'<text x="{x + bar // 2}" y="{HEIGHT - 6}" text-anchor="middle" fill="#5a6472">'
                f"{escape(day_label(day))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape(); the rest are numbers)


def nice_ceiling(units: int) -> int:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above `units`, so the
    axis reads 0 / 0.50 / 1.00 rather than 0 / 0.525 / 1.05."""
    if units <= 0:
        return 1
    power = 1
    while power * 10 < units:
        power *= 10
    for numerator, denominator in ((1, 1), (2, 1), (5, 2), (5, 1), (10, 1)):
        candidate = power * numerator // denominator
        if candidate >= units:
            return candidate
    return power * 10


def series_from(rows: list[tuple[int, str, int]], limit: int = len(COLOURS) - 1) -> list[Series]:
    """(day, name, units) rows → one series per name, biggest first; past `limit` names
    the rest are summed into one "…" series so colours stay readable."""
    by_name: dict[str, dict[int, int]] = {}
    for day, name, units in rows:
        values = by_name.setdefault(name, {})
        values[day] = values.get(day, 0) + units
    ranked = sorted(by_name.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    series = [Series(name, values, sum(values.values())) for name, values in ranked[:limit]]
    rest: dict[int, int] = {}
    for _name, values in ranked[limit:]:
        for day, units in values.items():
            rest[day] = rest.get(day, 0) + units
    if rest:
        series.append(Series("…", rest, sum(rest.values())))
    return series
