"""How a moment is shown to a person: the one format per locale, and relative times for lists.

The formats are Django date-format strings. The browser formats live-inserted times from the same table
(emitted into every page by `charla_time.time_settings`, read by `static/core/time.js`), so the JS only
understands the tokens in `JS_TOKENS`; `tests/core/test_timefmt.py` holds every format to them.
No database access: callers pass the zone and the locale (resolved once per request, DR-64).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import dateformat, translation

JS_TOKENS = frozenset("djmnMYHi")


@dataclass(frozen=True)
class LocaleFormats:
    datetime: str
    date: str
    time: str
    now: str
    minutes: str  # "{n}" is replaced with the count
    hours: str
    yesterday: str


FORMATS: dict[str, LocaleFormats] = {
    "en": LocaleFormats(
        datetime="j M Y H:i", date="j M Y", time="H:i",
        now="now", minutes="{n} min", hours="{n} h", yesterday="yesterday",
    ),
    "es": LocaleFormats(
        datetime="j M Y, H:i", date="j M Y", time="H:i",
        now="ahora", minutes="{n} min", hours="{n} h", yesterday="ayer",
    ),
}  # fmt: skip
DEFAULT_LOCALE = "en"


def formats_for(locale: str | None) -> LocaleFormats:
    """The formats of a locale ("es-ES" and "es_ES" are "es"); an unknown locale reads as English."""
    base = (locale or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()
    return FORMATS.get(base, FORMATS[DEFAULT_LOCALE])


def month_names(locale: str | None) -> list[str]:
    """The twelve abbreviated month names `M` prints in this locale (the browser uses them too)."""
    with translation.override(_base(locale)):
        return [dateformat.format(dt.date(2000, month, 1), "M") for month in range(1, 13)]


def _base(locale: str | None) -> str:
    base = (locale or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()
    return base if base in FORMATS else DEFAULT_LOCALE


def absolute(value: dt.datetime, *, tz: zoneinfo.ZoneInfo, locale: str | None, kind: str = "datetime") -> str:
    """`value` in the zone, in the locale's one format of that kind ("datetime", "date" or "time")."""
    fmt = getattr(formats_for(locale), kind)
    with translation.override(_base(locale)):
        return dateformat.format(value.astimezone(tz), fmt)


def relative(value: dt.datetime, *, now: dt.datetime, tz: zoneinfo.ZoneInfo, locale: str | None) -> str:
    """ "now" under a minute, "5 min" under an hour, "3 h" under a day, "yesterday" for the zone's previous
    calendar day, else the date. A moment in the future (a snooze, a due time) is shown absolute."""
    words = formats_for(locale)
    seconds = (now - value).total_seconds()
    if seconds < -60:
        return absolute(value, tz=tz, locale=locale)
    if seconds < 60:
        return words.now
    if seconds < 3600:
        return words.minutes.format(n=int(seconds // 60))
    if seconds < 86400:
        return words.hours.format(n=int(seconds // 3600))
    if value.astimezone(tz).date() == now.astimezone(tz).date() - dt.timedelta(days=1):
        return words.yesterday
    return absolute(value, tz=tz, locale=locale, kind="date")


def settings_for_browser(*, tz_name: str, locale: str | None) -> dict:
    """What `static/core/time.js` needs to format exactly as `absolute` and `relative` do."""
    words = formats_for(locale)
    return {
        "timezone": tz_name,
        "formats": {"datetime": words.datetime, "date": words.date, "time": words.time},
        "words": {"now": words.now, "minutes": words.minutes, "hours": words.hours, "yesterday": words.yesterday},
        "months": month_names(locale),
    }
