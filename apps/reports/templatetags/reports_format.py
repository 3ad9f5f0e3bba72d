"""How a report cell reads on the page; the CSV keeps the raw value (apps/reports/tables.py)."""

from __future__ import annotations

from django import template

register = template.Library()

EMPTY = "—"
MINUS = "\u2212"  # a typographic minus, as numbers are printed


def duration(seconds: int) -> str:
    """3725 -> "1 h 2 min"; under a minute in seconds; days past 48 hours."""
    sign, seconds = (MINUS if seconds < 0 else ""), abs(int(seconds))
    if seconds < 60:
        return f"{sign}{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 3600:
        return f"{sign}{minutes} min"
    if hours < 48:
        return f"{sign}{hours} h {minutes % 60} min"
    return f"{sign}{hours // 24} d {hours % 24} h"


def _formatted(value, unit: str) -> str:
    if value is None:
        return EMPTY
    if unit == "seconds":
        return duration(value)
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "percent":
        return f"{value} %"
    if unit == "score":
        return f"{value:.2f}"
    return str(value)


@register.filter
def report_cell(cell) -> str:
    value, unit = cell
    return _formatted(value, unit)


@register.filter
def report_change(cell) -> str:
    """A change with its sign; a zero change reads as no change."""
    value, unit = cell
    if value is None:
        return EMPTY
    text = _formatted(abs(value), unit)
    return "±0" if value == 0 else ("+" if value > 0 else MINUS) + text


@register.filter
def chart_value(cell) -> str:
    """The number the chart plots (empty when there is none)."""
    value = cell[0]
    return "" if value is None else str(value)
