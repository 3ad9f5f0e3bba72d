"""Counters in the shared cache that refuse callers once a window is full (Django views and consumers).

The API has DRF's throttles; everything else (the widget's endpoints and socket, sign-in, password reset)
counts here. A bucket is a named rate from `settings.CHARLA_RATE_LIMITS` ("5/min", "20/15min", "3/h")
and an identity (a visitor id, an IP, a merchant id, an e-mail). Windows are fixed and numbered, so a
count needs only `cache.add` + `cache.incr`, both atomic on Redis and on the local-memory cache, and every
process of a deployment shares them through Redis.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from apps.core import inputs

UNITS = {"s": 1, "sec": 1, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


@dataclass(frozen=True)
class Bucket:
    name: str  # a key of settings.CHARLA_RATE_LIMITS
    ident: str


class RateLimited(Exception):
    def __init__(self, bucket: Bucket, retry_after: int) -> None:
        super().__init__(f"{bucket.name} is full; retry after {retry_after} s")
        self.bucket = bucket
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def client_ip(request) -> str | None:
    """The client's address: uvicorn's --proxy-headers sets it from the proxy's header. ASGI leaves it out
    when the server knows no peer (a unix socket without a trusted proxy); callers then skip their IP bucket
    rather than put every such client in one."""
    return request.META.get("REMOTE_ADDR") or None


def rate_parse(text: str) -> Rate:
    """'20/15min' -> Rate(20, 900); a malformed rate is a configuration error, raised at first use."""
    count, _, per = text.partition("/")
    digits = per.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = per[len(digits) :]
    if not inputs.is_ascii_digits(count) or unit not in UNITS or (digits and not inputs.is_ascii_digits(digits)):
        raise ValueError(f"Bad rate {text!r}: use e.g. '5/min', '20/15min', '3/h'.")
    return Rate(limit=int(count), period=int(digits or 1) * UNITS[unit])


def rate_of(name: str) -> Rate:
    return rate_parse(settings.CHARLA_RATE_LIMITS[name])


def _window(bucket: Bucket, rate: Rate, now: float) -> tuple[str, int]:
    """The cache key of the bucket's current window and the seconds until that window ends."""
    index = int(now // rate.period)
    # Identities are hashed: e-mails and IPs stay out of the cache's key space and keys stay short.
    ident = hashlib.sha256(bucket.ident.encode()).hexdigest()[:32]
    key = f"{settings.CHARLA_RATE_LIMIT_PREFIX}:{bucket.name}:{ident}:{index}"
    return key, max(1, math.ceil((index + 1) * rate.period - now))


def _incr(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this hit opens a new window
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


def rate_hit(*buckets: Bucket) -> None:
    """Count one hit in each bucket in order; RateLimited at the first full one.

    The buckets after a full one are not counted, so a flood stopped by its visitor or IP bucket does not
    use up the merchant's bucket that every other visitor shares.
    """
    now = time.time()
    for bucket in buckets:
        rate = rate_of(bucket.name)
        key, retry_after = _window(bucket, rate, now)
        if _incr(key, rate.period + 1) > rate.limit:
            raise RateLimited(bucket, retry_after)


async def rate_hit_async(*buckets: Bucket) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(rate_hit, thread_sensitive=False)(*buckets)


def rate_check(*buckets: Bucket) -> None:
    """RateLimited when any bucket is already full, counting nothing (sign-in counts only failures)."""
    now = time.time()
    for bucket in buckets:
        rate = rate_of(bucket.name)
        key, retry_after = _window(bucket, rate, now)
        if (cache.get(key) or 0) >= rate.limit:
            raise RateLimited(bucket, retry_after)


def rate_count(*buckets: Bucket) -> None:
    """Count one hit in every bucket (a failure), whether or not it is full."""
    now = time.time()
    for bucket in buckets:
        rate = rate_of(bucket.name)
        key, _ = _window(bucket, rate, now)
        _incr(key, rate.period + 1)


def rate_reset(*buckets: Bucket) -> None:
    """Empty the buckets' current windows (an admin's unlock)."""
    now = time.time()
    cache.delete_many([_window(bucket, rate_of(bucket.name), now)[0] for bucket in buckets])
