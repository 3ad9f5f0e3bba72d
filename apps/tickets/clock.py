"""Business-time arithmetic for SLA clocks. Pure functions: no database, no settings.

A `Schedule` is a merchant's working week in its own time zone: for each weekday (0 = Monday)
a sorted list of non-overlapping periods given in minutes after local midnight (end may be 1440),
plus holiday dates on which nothing counts. Periods are laid onto each local date as wall-clock
times and only then converted to UTC, so DST changes come out right: on the spring-forward Sunday
a 02:00-03:00 period is empty, on the fall-back Sunday it lasts two hours, and a 09:00-13:00
period is always four real hours.

All instants in and out are timezone-aware; the answer is in UTC. Counting is in whole seconds so
minute targets round-trip exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apps.core import inputs

MINUTES_PER_DAY = 24 * 60
# How far ahead to look for working time before giving up (a schedule of holidays only).
MAX_SEARCH_DAYS = 3 * 366


class NoBusinessTime(ValueError):
    """The schedule has no working time within the search horizon."""


Period = tuple[int, int]  # (start minute, end minute) after local midnight


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    week: dict[int, tuple[Period, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def always(cls, tz: ZoneInfo | str = "UTC") -> Schedule:
        """24/7: every second counts (used when a merchant has no business hours)."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return cls(tz=zone, week=dict.fromkeys(range(7), ((0, MINUTES_PER_DAY),)))

    def __post_init__(self) -> None:
        for day, periods in self.week.items():
            validate_periods(day, periods)

    @property
    def has_working_time(self) -> bool:
        return any(end > start for periods in self.week.values() for start, end in periods)


def validate_periods(day: int, periods: tuple[Period, ...]) -> None:
    if not 0 <= day <= 6:
        raise ValueError(f"weekday {day} is not 0 (Monday) to 6 (Sunday)")
    previous_end = -1
    for start, end in periods:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(f"period {start}-{end} on weekday {day} must satisfy 0 <= start < end <= 1440")
        if start < previous_end:
            raise ValueError(f"periods on weekday {day} overlap or are not sorted")
        previous_end = end


def _wall(day: date, minute: int, tz: ZoneInfo) -> datetime:
    # Wall-clock arithmetic on purpose: 13:00 local is 13:00 whatever the offset that day.
    local = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minute)
    return local.astimezone(UTC)


def day_intervals(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The working intervals of one local date, in UTC (empty on holidays and days off)."""
    if day in schedule.holidays:
        return []
    intervals = []
    for start, end in schedule.week.get(day.weekday(), ()):
        begin, finish = _wall(day, start, schedule.tz), _wall(day, end, schedule.tz)
        if finish > begin:  # a period inside the spring-forward gap has no real duration
            intervals.append((begin, finish))
    return intervals


def _intervals_from(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals that end after `start`, clipped to begin no earlier than it, in order."""
    day = start.astimezone(schedule.tz).date() - timedelta(days=1)
    for _ in range(MAX_SEARCH_DAYS):
        for begin, finish in day_intervals(schedule, day):
            if finish > start:
                yield max(begin, start), finish
        day += timedelta(days=1)


def _require_aware(*values: datetime) -> None:
    for value in values:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("business-time arithmetic needs timezone-aware datetimes")


def add_business_seconds(schedule: Schedule, start: datetime, seconds: int) -> datetime:
    """The instant at which `seconds` of working time have passed since `start`.

    Zero seconds answers `start` itself (a clock that is already due). Negative values are refused:
    callers that need "already overdue" keep the original due time instead.
    """
    _require_aware(start)
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    start = start.astimezone(UTC)
    if seconds == 0:
        return start
    if not schedule.has_working_time:
        raise NoBusinessTime("the schedule has no working periods")
    remaining = timedelta(seconds=seconds)
    for begin, finish in _intervals_from(schedule, start):
        span = finish - begin
        if remaining <= span:
            return begin + remaining
        remaining -= span
    raise NoBusinessTime(f"no working time within {MAX_SEARCH_DAYS} days")


def add_business_minutes(schedule: Schedule, start: datetime, minutes: int) -> datetime:
    return add_business_seconds(schedule, start, minutes * 60)


def business_seconds_between(schedule: Schedule, start: datetime, end: datetime) -> int:
    """Working seconds in [start, end); negative when end is before start."""
    _require_aware(start, end)
    if end < start:
        return -business_seconds_between(schedule, end, start)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    day = start.astimezone(schedule.tz).date() - timedelta(days=1)
    last = end.astimezone(schedule.tz).date() + timedelta(days=1)
    while day <= last:
        for begin, finish in day_intervals(schedule, day):
            lo, hi = max(begin, start), min(finish, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return int(total.total_seconds())


def business_minutes_between(schedule: Schedule, start: datetime, end: datetime) -> int:
    """Whole working minutes in [start, end) (truncated towards zero)."""
    seconds = business_seconds_between(schedule, start, end)
    return int(seconds / 60)


def is_working_time(schedule: Schedule, at: datetime) -> bool:
    _require_aware(at)
    day = at.astimezone(schedule.tz).date()
    return any(
        begin <= at < finish for d in (day - timedelta(days=1), day) for begin, finish in day_intervals(schedule, d)
    )


def parse_hhmm(value: str) -> int:
    """'09:30' -> 570; '24:00' is allowed as the end of a day."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not inputs.is_ascii_digits(hours) or not inputs.is_ascii_digits(minutes) or len(minutes) != 2:
        raise ValueError(f"“{value}” is not a time like 09:00")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > MINUTES_PER_DAY:
        raise ValueError(f"“{value}” is not a time between 00:00 and 24:00")
    return total


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
