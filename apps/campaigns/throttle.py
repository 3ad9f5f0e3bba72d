"""A rate limit shared by every worker on every machine: GCRA reservations in Redis.

`reserve(key, n, rate)` books n sends and answers how long to wait before making them; callers
sleep, then send. Reservations queue up instead of failing, so workers never spin. Without Redis
(the embedded default) a per-process bucket stands in.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

from django.conf import settings

BURST_SECONDS = 1.0

# KEYS[1] bucket; ARGV: interval_ms per message, n, burst_ms, penalty_ms. Returns wait in ms.
RESERVE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now_ms then tat = now_ms end
tat = tat + tonumber(ARGV[4]) + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], tat, 'PX', math.floor(tat - now_ms + 60000))
local wait = tat - tonumber(ARGV[3]) - now_ms
if wait < 0 then wait = 0 end
return wait
"""


@lru_cache(maxsize=1)
def _redis():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client, client.register_script(RESERVE)


_local: dict[str, float] = {}
_local_lock = threading.Lock()


def _reserve_local(key: str, interval_ms: float, n: int, penalty_ms: float) -> float:
    with _local_lock:
        now_ms = time.monotonic() * 1000
        tat = max(_local.get(key, 0.0), now_ms) + penalty_ms + interval_ms * n
        _local[key] = tat
        return max(0.0, tat - BURST_SECONDS * 1000 - now_ms)


def reserve(key: str, n: int, rate: float, *, penalty_seconds: float = 0.0) -> float:
    """Book n messages at `rate`/s on this bucket; seconds to wait before sending them."""
    if not rate or (n <= 0 and not penalty_seconds):
        return 0.0
    interval_ms = 1000.0 / rate
    burst_ms = BURST_SECONDS * 1000
    if settings.REDIS_URL:
        _, script = _redis()
        wait_ms = script(keys=[f"charla:throttle:{key}"], args=[interval_ms, n, burst_ms, penalty_seconds * 1000])
        return float(wait_ms) / 1000
    return _reserve_local(key, interval_ms, n, penalty_seconds * 1000) / 1000


def slow_down(key: str, rate: float, seconds: float) -> None:
    """After a throughput error every sender on this bucket waits `seconds` longer."""
    reserve(key, 0, rate or 1, penalty_seconds=seconds)
