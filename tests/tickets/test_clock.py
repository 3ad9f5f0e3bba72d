"""Business-time arithmetic: lunch breaks, nights, weekends, holidays, DST, and a round-trip property."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.tickets.clock import (
    NoBusinessTime,
    Schedule,
    add_business_minutes,
    business_minutes_between,
    business_seconds_between,
    day_intervals,
    is_working_time,
    parse_hhmm,
)

MADRID = ZoneInfo("Europe/Madrid")
SPLIT_DAY = ((9 * 60, 13 * 60), (15 * 60, 19 * 60))  # 09:00-13:00 and 15:00-19:00
WEEKDAYS = Schedule(tz=MADRID, week=dict.fromkeys(range(5), SPLIT_DAY))


def local(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=MADRID)


def utc(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# 2026-11-23 is a Monday.
@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (local(2026, 11, 23, 10), 60, local(2026, 11, 23, 11)),  # inside one period
        (local(2026, 11, 23, 12, 30), 60, local(2026, 11, 23, 15, 30)),  # across the lunch break
        (local(2026, 11, 23, 13, 30), 30, local(2026, 11, 23, 15, 30)),  # starts during lunch
        (local(2026, 11, 24, 22), 30, local(2026, 11, 25, 9, 30)),  # night
        (local(2026, 11, 25, 3), 480, local(2026, 11, 25, 19)),  # a whole day exactly
        (local(2026, 11, 27, 18, 30), 60, local(2026, 11, 30, 9, 30)),  # Friday evening -> Monday
        (local(2026, 11, 28, 11), 10, local(2026, 11, 30, 9, 10)),  # Saturday
        (local(2026, 11, 23, 19), 1, local(2026, 11, 24, 9, 1)),  # end of a period is not working time
        (local(2026, 11, 23, 9), 0, local(2026, 11, 23, 9)),
    ],
)
def test_add_business_minutes(start, minutes, due):
    assert add_business_minutes(WEEKDAYS, start, minutes) == due
    assert business_minutes_between(WEEKDAYS, start, due) == minutes


def test_holidays_are_skipped_in_local_dates():
    schedule = Schedule(tz=MADRID, week=WEEKDAYS.week, holidays=frozenset({date(2026, 12, 25)}))
    # Thursday 24 Dec 18:00 + 2 h: one hour that day, Friday 25 is a holiday, the weekend is off.
    assert add_business_minutes(schedule, local(2026, 12, 24, 18), 120) == local(2026, 12, 28, 10)
    assert business_minutes_between(schedule, local(2026, 12, 24, 18), local(2026, 12, 28, 10)) == 120
    assert not is_working_time(schedule, local(2026, 12, 25, 10))
    assert is_working_time(schedule, local(2026, 12, 24, 10))


def test_spring_forward_weekend_gives_utc_due_with_summer_offset():
    # Friday 27 March 2026 18:00 CET (17:00 UTC) + 2 h -> Monday 30 March 10:00 CEST = 08:00 UTC.
    due = add_business_minutes(WEEKDAYS, local(2026, 3, 27, 18), 120)
    assert due == utc(2026, 3, 30, 8)
    assert business_minutes_between(WEEKDAYS, utc(2026, 3, 27, 17), utc(2026, 3, 30, 8)) == 120


def test_fall_back_weekend_gives_utc_due_with_winter_offset():
    # Friday 23 October 2026 18:00 CEST (16:00 UTC) + 2 h -> Monday 26 October 10:00 CET = 09:00 UTC.
    due = add_business_minutes(WEEKDAYS, local(2026, 10, 23, 18), 120)
    assert due == utc(2026, 10, 26, 9)


def test_dst_days_have_23_and_25_hours_of_round_the_clock_time():
    always = Schedule.always(MADRID)
    assert business_seconds_between(always, local(2026, 3, 29), local(2026, 3, 30)) == 23 * 3600
    assert business_seconds_between(always, local(2026, 10, 25), local(2026, 10, 26)) == 25 * 3600
    # 24 h of working time from Saturday midnight ends at 01:00 on Monday local time in spring.
    assert add_business_minutes(always, local(2026, 3, 28), 48 * 60) == local(2026, 3, 30, 1)


def test_period_inside_the_dst_gap_is_empty_and_the_repeated_hour_counts_twice():
    night = Schedule(tz=MADRID, week={6: ((2 * 60, 3 * 60),)})  # Sundays 02:00-03:00
    assert day_intervals(night, date(2026, 3, 29)) == []
    assert day_intervals(night, date(2026, 10, 25)) == [(utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))]
    assert day_intervals(night, date(2026, 11, 1)) == [(utc(2026, 11, 1, 1), utc(2026, 11, 1, 2))]
    # From Saturday 28 March: the gap Sunday has no time, so 30 minutes land on 5 April.
    assert add_business_minutes(night, local(2026, 3, 28), 30) == local(2026, 4, 5, 2, 30)


def test_a_working_day_keeps_its_wall_clock_hours_across_dst():
    # Monday 30 March (first summer day) 09:00 local is 07:00 UTC; the Monday before it was 08:00 UTC.
    assert day_intervals(WEEKDAYS, date(2026, 3, 30))[0][0] == utc(2026, 3, 30, 7)
    assert day_intervals(WEEKDAYS, date(2026, 3, 23))[0][0] == utc(2026, 3, 23, 8)


def test_between_is_antisymmetric_and_ignores_off_hours():
    a, b = local(2026, 11, 23, 8), local(2026, 11, 23, 20)
    assert business_minutes_between(WEEKDAYS, a, b) == 480
    assert business_minutes_between(WEEKDAYS, b, a) == -480
    assert business_minutes_between(WEEKDAYS, local(2026, 11, 28), local(2026, 11, 30)) == 0


def test_schedule_without_working_time_raises():
    with pytest.raises(NoBusinessTime):
        add_business_minutes(Schedule(tz=MADRID), local(2026, 11, 23), 5)
    holidays_only = Schedule(
        tz=MADRID,
        week={0: SPLIT_DAY},
        holidays=frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(4 * 366)),
    )
    with pytest.raises(NoBusinessTime):
        add_business_minutes(holidays_only, local(2026, 1, 1), 5)


def test_invalid_input_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(WEEKDAYS, datetime(2026, 11, 23, 10), 5)
    with pytest.raises(ValueError, match=">= 0"):
        add_business_minutes(WEEKDAYS, local(2026, 11, 23, 10), -1)
    with pytest.raises(ValueError, match="overlap"):
        Schedule(tz=MADRID, week={0: ((600, 700), (650, 800))})
    with pytest.raises(ValueError, match="start < end"):
        Schedule(tz=MADRID, week={0: ((700, 600),)})
    with pytest.raises(ValueError, match="weekday"):
        Schedule(tz=MADRID, week={7: ((600, 700),)})


@pytest.mark.parametrize(("text", "minute"), [("09:00", 540), ("9:30", 570), ("24:00", 1440), ("00:00", 0)])
def test_parse_hhmm(text, minute):
    assert parse_hhmm(text) == minute


@pytest.mark.parametrize("text", ["9", "09:60", "24:01", "ab:cd", "09:0", ""])
def test_parse_hhmm_refuses(text):
    with pytest.raises(ValueError):
        parse_hhmm(text)


# ---------------------------------------------------------------- property: add then measure round-trips
period_starts = st.integers(min_value=0, max_value=23 * 60)


@st.composite
def schedules(draw):
    week = {}
    for day in range(7):
        if draw(st.booleans()):
            cuts = sorted(draw(st.sets(st.integers(0, 1440), min_size=2, max_size=6)))
            pairs = tuple((cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2))
            week[day] = pairs
    if not any(week.values()):
        week[0] = ((540, 1020),)
    zone = draw(st.sampled_from(["Europe/Madrid", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Lord_Howe"]))
    holidays = frozenset(draw(st.sets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20)))
    return Schedule(tz=ZoneInfo(zone), week=week, holidays=holidays)


@settings(max_examples=300, deadline=None)
@given(
    schedule=schedules(),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    data=st.data(),
)
def test_adding_then_measuring_business_minutes_round_trips(schedule, start, data):
    weekly = sum(end - begin for periods in schedule.week.values() for begin, end in periods)
    # Up to about eight weeks of that schedule's working time, so holidays cannot starve the search.
    minutes = data.draw(st.integers(min_value=0, max_value=min(5 * 24 * 60, weekly * 8)))
    due = add_business_minutes(schedule, start, minutes)
    assert due >= start
    assert business_seconds_between(schedule, start, due) == minutes * 60
    if minutes:
        # The due instant is the earliest one: one second earlier, the budget is not yet spent.
        assert business_seconds_between(schedule, start, due - timedelta(seconds=1)) < minutes * 60
