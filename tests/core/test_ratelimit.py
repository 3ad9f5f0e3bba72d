"""apps/core/ratelimit.py: fixed windows in the shared cache, atomic under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from apps.core.ratelimit import Bucket, Rate, RateLimited, rate_check, rate_count, rate_hit, rate_parse, rate_reset

START = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def tiny(settings):
    settings.CHARLA_RATE_LIMITS = {"t.minute": "3/min", "t.other": "1/min", "t.window": "2/15min"}


@pytest.mark.parametrize(
    ("text", "rate"),
    [("5/min", Rate(5, 60)), ("20/15min", Rate(20, 900)), ("3/h", Rate(3, 3600)), ("1/2d", Rate(1, 172800))],
)
def test_rates_parse(text, rate):
    assert rate_parse(text) == rate


@pytest.mark.parametrize("text", ["5", "five/min", "5/fortnight", "5/1.5min", "/min", "5/min "])
def test_a_malformed_rate_is_an_error_naming_it(text):
    with pytest.raises(ValueError, match="Bad rate"):
        rate_parse(text)


def test_hits_past_the_limit_are_refused_until_the_window_ends(tiny, time_machine):
    time_machine.move_to(START + timedelta(seconds=15), tick=False)
    bucket = Bucket("t.minute", "visitor-1")
    for _ in range(3):
        rate_hit(bucket)
    with pytest.raises(RateLimited) as refused:
        rate_hit(bucket)
    assert (refused.value.bucket, refused.value.retry_after, refused.value.minutes) == (bucket, 45, 1)
    rate_hit(Bucket("t.minute", "visitor-2"))  # another identity has its own bucket
    time_machine.move_to(START + timedelta(seconds=60), tick=False)
    rate_hit(bucket)


def test_a_full_bucket_stops_the_count_of_the_buckets_after_it(tiny):
    narrow, wide = Bucket("t.other", "visitor"), Bucket("t.minute", "merchant")
    rate_hit(narrow, wide)
    for _ in range(5):
        with pytest.raises(RateLimited):
            rate_hit(narrow, wide)
    rate_hit(wide)
    rate_hit(wide)  # the refused hits above never reached it: 3 of 3 used now
    with pytest.raises(RateLimited):
        rate_hit(wide)


def test_check_counts_nothing_count_counts_past_the_limit_reset_empties(tiny, time_machine):
    time_machine.move_to(START, tick=False)
    bucket = Bucket("t.window", "ana@example.test")
    rate_check(bucket)
    rate_check(bucket)
    rate_check(bucket)
    rate_count(bucket)
    rate_check(bucket)
    rate_count(bucket)
    with pytest.raises(RateLimited) as locked:
        rate_check(bucket)
    assert (locked.value.retry_after, locked.value.minutes) == (900, 15)
    rate_count(bucket)  # a failure while locked still counts, and is not refused itself
    rate_reset(bucket)
    rate_check(bucket)


@pytest.mark.redis
def test_concurrent_hits_on_redis_admit_exactly_the_limit(settings):
    settings.CHARLA_RATE_LIMITS = {"t.burst": "25/h"}
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    bucket = Bucket("t.burst", "203.0.113.9")

    def one(_: int) -> bool:
        try:
            rate_hit(bucket)
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        admitted = list(pool.map(one, range(200)))
    assert admitted.count(True) == 25
