"""One Redis connection pool per process for Django's cache (`CACHES[...]["OPTIONS"]["pool_class"]`).

Django keeps a cache object per thread, and its Redis client makes a pool per object. Under ASGI every
HTTP request runs in a thread of its own, so each request built a pool and opened a fresh Redis
connection for its first cache call (the API's throttle, the rate limits). Here every cache object of the
process shares one pool per URL and options; redis-py's pool is thread-safe, and resets itself in a
forked child.
"""

from __future__ import annotations

import threading

import redis

_pools: dict[tuple, redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    @classmethod
    def from_url(cls, url: str, **kwargs):
        key = (url, tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = super().from_url(url, **kwargs)
            return pool
