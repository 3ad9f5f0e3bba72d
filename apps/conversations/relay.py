"""Embedded mode: carry events published by other processes to this process's sockets.

With Redis, every process publishes to the shared channel layer and no relay is needed. With the
in-memory layer (no REDIS_URL) a Celery worker's `events.publish` reaches nobody, because its layer
lives in the worker process. The database is the source of truth either way, so the web process
runs one background task that reads LiveEvent rows after the last id it saw and group_sends them
locally. Consumers drop seqs they already delivered, so an event published in this process (sent
directly and again by the relay) reaches each client once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BATCH = 500

_state: dict = {"task": None, "loop": None}


def relay_needed(layer=None) -> bool:
    return isinstance(layer or get_channel_layer(), InMemoryChannelLayer)


def relay_ensure_started() -> bool:
    """Start the relay on the running loop unless one is alive there already. True when running."""
    if not relay_needed():
        return False
    loop = asyncio.get_running_loop()
    task = _state["task"]
    if task is not None and not task.done() and _state["loop"] is loop:
        return True
    _state["task"] = loop.create_task(_relay_loop(), name="conversations-live-relay")
    _state["loop"] = loop
    return True


async def relay_stop() -> None:
    task, _state["task"], _state["loop"] = _state["task"], None, None
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            await task


def relay_running() -> bool:
    task = _state["task"]
    return task is not None and not task.done()


@database_sync_to_async
def _last_event_id() -> int:
    from apps.conversations.models import LiveEvent

    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@database_sync_to_async
def _events_after(last_id: int) -> list[tuple[int, list[str], dict]]:
    """(id, groups, message) of the events after last_id, shaped and routed as `events.broadcast` does."""
    from apps.conversations import events
    from apps.conversations.models import LiveEvent

    rows = LiveEvent.objects.filter(id__gt=last_id).order_by("id")[:BATCH]
    return [(e.id, events.groups_of(e), events.as_message(e)) for e in rows]


async def relay_once(last_id: int) -> int:
    """Send every event after last_id to its groups (chat and campaign progress alike); the new last id."""
    layer = get_channel_layer()
    for event_id, groups, message in await _events_after(last_id):
        for group in groups:
            await layer.group_send(group, message)
        last_id = event_id
    return last_id


async def _relay_loop() -> None:
    # Start at the newest row: sockets that connect later catch up through `resume`, not the relay.
    last_id = await _last_event_id()
    while True:
        try:
            last_id = await relay_once(last_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # a locked SQLite file or a dropped connection must not end live updates
            logger.exception("conversations.relay.failed")
        await asyncio.sleep(POLL_SECONDS)
