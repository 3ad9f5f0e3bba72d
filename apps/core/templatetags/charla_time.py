"""Relative times for templates: `{% load charla_time %}` then `{{ dt|relative_time }}`.

Minimal version made for the inbox; the timefmt work (member zones, locale formats) replaces it at merge.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

STEPS = ((86400 * 365, "y"), (86400 * 30, "mo"), (86400 * 7, "w"), (86400, "d"), (3600, "h"), (60, "min"))


def relative_label(value: dt.datetime, *, now: dt.datetime) -> str:
    seconds = max(0, int((now - value).total_seconds()))
    for size, unit in STEPS:
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "now"


@register.filter
def relative_time(value) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.astimezone(dt.UTC).isoformat(),
        timezone.localtime(value).strftime("%Y-%m-%d %H:%M"),
        relative_label(value, now=timezone.now()),
    )
