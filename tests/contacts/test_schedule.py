"""Quiet hours and frequency-cap windows in each contact's own zone, across DST."""

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.contacts import schedule

NIGHT = (time(21, 0), time(9, 0))


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def release(now, tz, window=NIGHT):
    return schedule.quiet_hours_release(now=now, tz_name=tz, start=window[0], end=window[1])


def test_outside_quiet_hours_sends_now():
    assert release(utc(2026, 6, 1, 10, 0), "Europe/Madrid") is None  # 12:00 in Madrid


def test_evening_is_held_until_next_morning_in_the_contacts_zone():
    # 20:30 UTC = 22:30 in Madrid (CEST): held until 09:00 Madrid = 07:00 UTC next day.
    assert release(utc(2026, 6, 1, 20, 30), "Europe/Madrid") == utc(2026, 6, 2, 7, 0)


def test_early_morning_is_held_until_nine_the_same_day():
    assert release(utc(2026, 6, 1, 5, 0), "Europe/Madrid") == utc(2026, 6, 1, 7, 0)


def test_same_instant_differs_by_zone():
    now = utc(2026, 6, 1, 14, 0)  # 16:00 Madrid (send), 23:00 Tokyo (hold), 10:00 New York (send)
    assert release(now, "Europe/Madrid") is None
    assert release(now, "Asia/Tokyo") == utc(2026, 6, 2, 0, 0)
    assert release(now, "America/New_York") is None


def test_window_start_is_inclusive_and_end_exclusive():
    assert release(utc(2026, 1, 10, 20, 0), "Europe/Madrid") is not None  # 21:00 CET
    assert release(utc(2026, 1, 10, 8, 0), "Europe/Madrid") is None  # 09:00 CET


def test_spring_forward_night_is_one_hour_shorter():
    # Madrid switches 02:00 CET -> 03:00 CEST on 2026-03-29; 09:00 that morning is 07:00 UTC.
    assert release(utc(2026, 3, 28, 21, 0), "Europe/Madrid") == utc(2026, 3, 29, 7, 0)


def test_fall_back_night_is_one_hour_longer():
    # 2026-10-25 03:00 CEST -> 02:00 CET; 09:00 that morning is 08:00 UTC.
    assert release(utc(2026, 10, 24, 20, 0), "Europe/Madrid") == utc(2026, 10, 25, 8, 0)


def test_window_ending_inside_a_dst_gap_opens_when_the_clocks_jump():
    # New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC). 02:30 never happens.
    assert release(utc(2026, 3, 8, 6, 0), "America/New_York", (time(0, 0), time(2, 30))) == utc(2026, 3, 8, 7, 0)


def test_daytime_window_that_does_not_wrap():
    window = (time(13, 0), time(15, 0))
    assert release(utc(2026, 6, 1, 12, 0), "Europe/Madrid", window) == utc(2026, 6, 1, 13, 0)
    assert release(utc(2026, 6, 1, 13, 0), "Europe/Madrid", window) is None


def test_unknown_zone_falls_back_to_utc():
    assert release(utc(2026, 6, 1, 22, 0), "Mars/Olympus") == utc(2026, 6, 2, 9, 0)


def test_cap_day_starts_at_local_midnight():
    assert schedule.cap_window_start(now=utc(2026, 6, 1, 23, 30), tz_name="Europe/Madrid", period="day") == utc(
        2026, 6, 1, 22, 0
    )


def test_cap_week_starts_monday_local_midnight():
    # Wednesday 2026-06-03 in Tokyo; the week began Monday 2026-06-01 00:00 JST = 2026-05-31 15:00 UTC.
    assert schedule.cap_window_start(now=utc(2026, 6, 3, 1, 0), tz_name="Asia/Tokyo", period="week") == utc(
        2026, 5, 31, 15, 0
    )


def test_cap_day_where_midnight_does_not_exist():
    # Santiago 2026-09-06: 00:00 jumps to 01:00; the day starts at the jump (04:00 UTC).
    assert schedule.cap_window_start(now=utc(2026, 9, 6, 12, 0), tz_name="America/Santiago", period="day") == utc(
        2026, 9, 6, 4, 0
    )


def test_bad_period_and_times_are_refused():
    with pytest.raises(ValueError):
        schedule.cap_window_start(now=utc(2026, 1, 1), tz_name="UTC", period="month")
    with pytest.raises(ValueError):
        schedule.quiet_hours_parse({"start": "25:00", "end": "09:00"})
    assert schedule.quiet_hours_parse({"start": "09:00", "end": "09:00"}) is None


ZONES = st.sampled_from(
    ["Europe/Madrid", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago", "UTC"]
)
INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=400, deadline=None)
@given(now=INSTANTS, tz=ZONES, start=TIMES, end=TIMES)
def test_release_is_the_first_instant_outside_the_window(now, tz, start, end):
    released = schedule.quiet_hours_release(now=now, tz_name=tz, start=start, end=end)
    zone = schedule.zone(tz)
    wall = now.astimezone(zone).time().replace(tzinfo=None)
    if released is None:
        assert not schedule.in_window(wall, start, end)
        return
    assert schedule.in_window(wall, start, end)
    assert now < released <= now + timedelta(days=1, hours=1)  # never dropped, at most a day away
    assert not schedule.in_window(released.astimezone(zone).time().replace(tzinfo=None), start, end)
    just_before = (released - timedelta(seconds=1)).astimezone(zone).time().replace(tzinfo=None)
    assert released - timedelta(seconds=1) < now or schedule.in_window(just_before, start, end)


@settings(max_examples=300, deadline=None)
@given(now=INSTANTS, tz=ZONES, period=st.sampled_from(["day", "week"]))
def test_cap_window_contains_now_and_starts_at_a_local_day_boundary(now, tz, period):
    start = schedule.cap_window_start(now=now, tz_name=tz, period=period)
    assert start <= now
    assert now - start < timedelta(days=7 if period == "week" else 1, hours=1)
    local_start = start.astimezone(schedule.zone(tz))
    assert local_start.time() <= time(1, 0)  # midnight, or the end of a DST gap at midnight


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ({"max": 1, "period": "day"}, (1, "day")), ({"max": 100, "period": "week"}, (100, "week"))],
)
def test_frequency_cap_parse(value, expected):
    assert schedule.frequency_cap_parse(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"max": 0, "period": "day"},
        {"max": 101, "period": "day"},
        {"max": True, "period": "day"},
        {"max": "2", "period": "day"},
        {"max": 2, "period": "month"},
        {"max": 2},
        [2, "day"],
    ],
)
def test_a_malformed_frequency_cap_is_refused_with_its_shape(value):
    with pytest.raises(ValueError, match=r'^Give \{"max": 1-100, "period": "day" \| "week"\}\.$'):
        schedule.frequency_cap_parse(value)
