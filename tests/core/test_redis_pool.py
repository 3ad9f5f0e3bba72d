"""apps/core/redis_pool.py: every thread's cache object uses the process's one Redis pool."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import caches


@pytest.mark.redis
def test_caches_of_all_threads_share_one_pool_and_see_each_others_writes():
    seen = []

    def in_a_request_thread() -> None:  # under ASGI each HTTP request runs in a thread of its own
        cache = caches["default"]
        cache.set("redis-pool-test", threading.get_ident(), timeout=30)
        seen.append((cache._cache._get_connection_pool(write=True), cache.get("redis-pool-test")))

    for _ in range(3):
        thread = threading.Thread(target=in_a_request_thread)
        thread.start()
        thread.join()
    pools = {id(pool) for pool, _ in seen} | {id(caches["default"]._cache._get_connection_pool(write=True))}
    assert len(pools) == 1
    assert caches["default"].get("redis-pool-test") == seen[-1][1]
