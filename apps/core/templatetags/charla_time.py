"""Every date and time a template shows: `{% load charla_time %}`.

`value|local_datetime` (or `local_date`, `local_time`) is the absolute form in the request's zone
(apps.core.middleware.MemberTimezoneMiddleware) and the active locale's one format (apps.core.timefmt);
`value|relative_time` is "5 min" inside a `<time>` that carries the ISO moment and the absolute form, and
that `static/core/time.js` refreshes each minute. `{% time_settings %}` (in base.html) hands the same
formats to the browser for live-inserted times.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone, translation
from django.utils.html import format_html, json_script

from apps.core import timefmt

register = template.Library()


def _absolute(value, kind: str) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    return timefmt.absolute(value, tz=timezone.get_current_timezone(), locale=translation.get_language(), kind=kind)


@register.filter
def local_datetime(value) -> str:
    return _absolute(value, "datetime")


@register.filter
def local_date(value) -> str:
    return _absolute(value, "date")


@register.filter
def local_time(value) -> str:
    return _absolute(value, "time")


@register.filter
def relative_time(value) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    tz, locale = timezone.get_current_timezone(), translation.get_language()
    shown = timefmt.relative(value, now=timezone.now(), tz=tz, locale=locale)
    return format_html(
        '<time datetime="{}" title="{}" data-relative>{}</time>',
        value.astimezone(dt.UTC).isoformat(),
        timefmt.absolute(value, tz=tz, locale=locale),
        shown,
    )


@register.simple_tag
def time_settings() -> str:
    zone = timezone.get_current_timezone_name()
    return json_script(timefmt.settings_for_browser(tz_name=zone, locale=translation.get_language()), "charla-time")
