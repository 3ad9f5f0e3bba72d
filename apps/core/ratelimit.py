"""Counters in the shared cache that refuse callers once a window is full (Django views and consumers).

The API has DRF's throttles; everything else (the widget's endpoints and socket, sign-in, password reset)
counts here. A bucket is a named rate from `settings.CHARLA_RATE_LIMITS` ("5/min", "20/15min", "3/h")
and an identity (a visitor id, an IP, a merchant id, an e-mail). Windows are fixed and numbered, so a
count is one atomic increment, and every process of a deployment shares the counts through Redis. On Redis
all buckets of one hit are counted in one Lua script (one round trip, whatever the number of buckets); the
local-memory cache of the embedded mode counts with `cache.add` + `cache.incr`, atomic there too.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

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


# KEYS: the buckets' window keys in order; ARGV: each one's expiry, then each one's limit (-1: count only).
# Returns the 1-based index of the first bucket past its limit (counted, like every bucket before it), else 0.
_HIT_SCRIPT = """
local n = #KEYS
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[i]) end
  local limit = tonumber(ARGV[n + i])
  if limit >= 0 and count > limit then return i end
end
return 0
"""
_script = None  # redis-py's Script: EVALSHA, and the source again only after a Redis restart forgot it


def _redis_cache() -> RedisCache | None:
    backend = caches["default"]  # `cache` is a proxy: isinstance needs the backend itself
    return backend if isinstance(backend, RedisCache) else None


def _redis_full(backend: RedisCache, windows: list[tuple[Bucket, Rate, str]], *, check: bool) -> int:
    """One round trip: count every window in order, stopping after the first one past its limit (when `check`)."""
    global _script
    client = backend._cache.get_client(write=True)  # the cache's own pool, so its LOCATION and options hold
    if _script is None:
        _script = client.register_script(_HIT_SCRIPT)
    keys = [backend.make_and_validate_key(key) for _, _, key in windows]  # the keys cache.get reads
    expiries = [rate.period + 1 for _, rate, _ in windows]
    limits = [rate.limit if check else -1 for _, rate, _ in windows]
    return int(_script(keys=keys, args=expiries + limits, client=client))


def _windows(buckets: tuple[Bucket, ...], now: float) -> list[tuple[Bucket, Rate, str, int]]:
    out = []
    for bucket in buckets:
        rate = rate_of(bucket.name)
        key, retry_after = _window(bucket, rate, now)
        out.append((bucket, rate, key, retry_after))
    return out


def rate_hit(*buckets: Bucket) -> None:
    """Count one hit in each bucket in order; RateLimited at the first full one.

    The buckets after a full one are not counted, so a flood stopped by its visitor or IP bucket does not
    use up the merchant's bucket that every other visitor shares.
    """
    windows = _windows(buckets, time.time())
    backend = _redis_cache()
    if backend is not None:
        full = _redis_full(backend, [(b, r, k) for b, r, k, _ in windows], check=True)
        if full:
            bucket, _, _, retry_after = windows[full - 1]
            raise RateLimited(bucket, retry_after)
        return
    for bucket, rate, key, retry_after in windows:
        if _incr(key, rate.period + 1) > rate.limit:
            raise RateLimited(bucket, retry_after)


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
    windows = _windows(buckets, time.time())
    backend = _redis_cache()
    if backend is not None:
        _redis_full(backend, [(b, r, k) for b, r, k, _ in windows], check=False)
        return
    for _, rate, key, _ in windows:
        _incr(key, rate.period + 1)


def rate_reset(*buckets: Bucket) -> None:
    """Empty the buckets' current windows (an admin's unlock)."""
    now = time.time()
    cache.delete_many([_window(bucket, rate_of(bucket.name), now)[0] for bucket in buckets])
