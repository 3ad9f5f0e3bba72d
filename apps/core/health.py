"""Readiness probes for /readyz: each returns None when the part answers, else a reason."""

from __future__ import annotations

import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from apps.core.selectors import scheduler_heartbeat_age


def check_database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def check_cache() -> str | None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    ok = cache.get(key) == "1"
    cache.delete(key)
    return None if ok else "cache did not return what was written"


def check_channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"

    async def round_trip() -> bool:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        return message.get("type") == "readyz.ping"

    return None if async_to_sync(round_trip)() else "channel layer round trip failed"


def check_broker() -> str | None:
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return None


# A deployment that has never ticked is not yet late for the first CHARLA_SCHEDULER_STALE_SECONDS of
# this process: beat's first heartbeat needs beat, the broker and a worker up, which a fresh deploy
# starts alongside the web process. After that, no tick at all fails like a stale one.
PROCESS_STARTED = time.monotonic()


def check_scheduler() -> str | None:
    age = scheduler_heartbeat_age()
    limit = settings.SCHEDULER_STALE_SECONDS
    if age is None:
        if time.monotonic() - PROCESS_STARTED < limit:
            return None
        return "no scheduler tick recorded yet: beat and a worker must both run"
    if age.total_seconds() > limit:
        return f"last scheduler tick {age.total_seconds():.0f} s ago (limit {limit:g} s): is beat running?"
    return None


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
    "scheduler": check_scheduler,
}


def readiness() -> dict[str, str]:
    """Every failing part mapped to its reason; empty when all answer."""
    failures = {}
    for name, check in CHECKS.items():
        try:
            reason = check()
        except Exception as exc:  # any failure of a dependency means not ready
            reason = f"{type(exc).__name__}: {exc}"[:200]
        if reason:
            failures[name] = reason
    return failures
