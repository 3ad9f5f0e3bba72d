"""The one table of formats and the relative-time thresholds (apps/core/timefmt.py)."""

import re
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from apps.core import timefmt

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 13:00 in Madrid


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (timedelta(seconds=0), "now"),
        (timedelta(seconds=59), "now"),
        (timedelta(seconds=60), "1 min"),
        (timedelta(minutes=5, seconds=30), "5 min"),
        (timedelta(minutes=59, seconds=59), "59 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=3, minutes=20), "3 h"),
        (timedelta(hours=23, minutes=59), "23 h"),
        (timedelta(hours=30), "yesterday"),  # 9 Mar 07:00 in Madrid
        (timedelta(hours=37), "yesterday"),  # 9 Mar 00:00 in Madrid
        (timedelta(hours=37, minutes=1), "8 Mar 2026"),  # 8 Mar 23:59 in Madrid
        (timedelta(days=40), "29 Jan 2026"),
    ],
)
def test_relative_thresholds_in_english(ago, shown):
    assert timefmt.relative(NOW - ago, now=NOW, tz=MADRID, locale="en") == shown


def test_relative_words_in_spanish():
    assert [timefmt.relative(NOW - ago, now=NOW, tz=MADRID, locale="es-ES") for ago in (
        timedelta(seconds=10), timedelta(minutes=5), timedelta(hours=3), timedelta(hours=30), timedelta(days=40)
    )] == ["ahora", "5 min", "3 h", "ayer", "29 Ene 2026"]  # fmt: skip


def test_yesterday_is_the_zones_calendar_day_not_the_servers():
    # 23:30 UTC on the 8th is 00:30 on the 9th in Madrid: yesterday there, the day before in UTC.
    value = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)
    now = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    assert timefmt.relative(value, now=now, tz=MADRID, locale="en") == "yesterday"
    assert timefmt.relative(value, now=now, tz=zoneinfo.ZoneInfo("UTC"), locale="en") == "8 Mar 2026"


def test_a_future_moment_is_shown_absolute():
    assert timefmt.relative(NOW + timedelta(hours=2), now=NOW, tz=MADRID, locale="en") == "10 Mar 2026 15:00"


def test_absolute_follows_the_zone_across_dst():
    before, after = datetime(2026, 3, 28, 8, 8, tzinfo=UTC), datetime(2026, 3, 30, 8, 8, tzinfo=UTC)
    assert timefmt.absolute(before, tz=MADRID, locale="en") == "28 Mar 2026 09:08"
    assert timefmt.absolute(after, tz=MADRID, locale="en") == "30 Mar 2026 10:08"
    assert timefmt.absolute(after, tz=MADRID, locale="es") == "30 Mar 2026, 10:08"
    assert timefmt.absolute(after, tz=MADRID, locale="en", kind="date") == "30 Mar 2026"
    assert timefmt.absolute(after, tz=MADRID, locale="en", kind="time") == "10:08"


def test_an_unknown_locale_reads_as_english():
    assert timefmt.formats_for("fr-FR") == timefmt.FORMATS["en"]
    assert timefmt.formats_for(None) == timefmt.FORMATS["en"]


@pytest.mark.parametrize("locale", sorted(timefmt.FORMATS))
def test_every_format_uses_only_tokens_the_browser_understands(locale):
    formats = timefmt.FORMATS[locale]
    for fmt in (formats.datetime, formats.date, formats.time):
        letters = set(re.sub(r"\\.", "", fmt)) & set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        assert letters <= timefmt.JS_TOKENS, (locale, fmt)


def test_browser_settings_carry_the_same_table():
    assert timefmt.settings_for_browser(tz_name="Europe/Madrid", locale="es") == {
        "timezone": "Europe/Madrid",
        "formats": {"datetime": "j M Y, H:i", "date": "j M Y", "time": "H:i"},
        "words": {"now": "ahora", "minutes": "{n} min", "hours": "{n} h", "yesterday": "ayer"},
        "months": ["Ene", "Feb", "Mar", "Abr", "May", "Jun", "Jul", "Ago", "Sep", "Oct", "Nov", "Dic"],
    }
