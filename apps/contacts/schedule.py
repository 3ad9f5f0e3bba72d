"""Wall-clock arithmetic for quiet hours and frequency caps, in each contact's own time zone.

Pure functions (no database): they take an aware UTC instant and an IANA zone name and answer
with aware UTC instants, so DST gaps and folds are handled in one place and tested hard. Both
marketing paths use them: campaigns with each campaign's own rules, and the one outbound check
(agent, API, automated senders) with the merchant's rules stored under the two settings below.
It lives with the contacts because the zone is the contact's, and every sender sits above.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
PERIODS = ("day", "week")
CAP_MAX = 100
# Merchant.settings keys for marketing sent outside campaigns; absent = no rule (the default).
QUIET_HOURS_SETTING = "marketing_quiet_hours"  # {"start": "21:00", "end": "09:00"}
FREQUENCY_CAP_SETTING = "marketing_frequency_cap"  # {"max": 2, "period": "day" | "week"}


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone, or UTC for an unknown or empty name (a bad profile value must not stop a campaign)."""
    try:
        return zoneinfo.ZoneInfo(name) if name else zoneinfo.ZoneInfo("UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def parse_hhmm(value: str) -> time:
    match = HHMM.match(value or "")
    if not match:
        raise ValueError(f"“{value}” is not a time as HH:MM (00:00-23:59).")
    return time(int(match.group(1)), int(match.group(2)))


def wall_to_utc(day: date, wall: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The earliest instant whose local wall clock on `day` reads `wall` or later.

    In a fall-back fold that is the first occurrence; in a spring-forward gap (the wall time
    never happens) it is the moment the clocks jump, i.e. the first instant after the gap.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # A gap: fold=1 lands before the gap, fold=0 after it; bisect for the transition instant.
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    if high < low:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0) if high.microsecond else high


def in_window(t: time, start: time, end: time) -> bool:
    """Is wall time t inside [start, end)? Windows may wrap midnight (21:00-09:00)."""
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def quiet_hours_release(*, now: datetime, tz_name: str, start: time, end: time) -> datetime | None:
    """None when `now` is outside the contact's quiet hours; else the UTC instant they end."""
    tz = zone(tz_name)
    local = now.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if not in_window(wall, start, end):
        return None
    release_day = local.date()
    if start > end and wall >= start:  # evening part of a window that wraps midnight
        release_day += timedelta(days=1)
    return wall_to_utc(release_day, end, tz)


def cap_window_start(*, now: datetime, tz_name: str, period: str) -> datetime:
    """Start (UTC) of the contact's current local day, or of the ISO week (Monday 00:00)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    tz = zone(tz_name)
    today = now.astimezone(tz).date()
    first_day = today if period == "day" else today - timedelta(days=today.weekday())
    return wall_to_utc(first_day, time(0, 0), tz)


def next_local_midnight(*, now: datetime, tz_name: str) -> datetime:
    tz = zone(tz_name)
    return wall_to_utc(now.astimezone(tz).date() + timedelta(days=1), time(0, 0), tz)


def quiet_hours_parse(value: dict | None) -> tuple[time, time] | None:
    """{"start": "21:00", "end": "09:00"} -> (start, end); None or equal ends = no quiet hours."""
    if not value:
        return None
    start, end = parse_hhmm(value.get("start", "")), parse_hhmm(value.get("end", ""))
    return None if start == end else (start, end)


def frequency_cap_parse(value: dict | None) -> tuple[int, str] | None:
    """{"max": 2, "period": "day"} -> (2, "day"); None = no cap. ValueError for anything else."""
    if value is None:
        return None
    limit = value.get("max") if isinstance(value, dict) else None
    period = value.get("period") if isinstance(value, dict) else None
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= CAP_MAX or period not in PERIODS:
        raise ValueError(f'Give {{"max": 1-{CAP_MAX}, "period": "day" | "week"}}.')
    return limit, period
