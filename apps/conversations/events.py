"""The live event log: store first (with a per-merchant seq), broadcast after commit.

Seqs are handed out by bumping one counter row per merchant inside the writing transaction. The row
stays locked until that transaction ends, so events of one merchant commit in seq order: a client
catching up with `since(after_seq=n)` can never see n+2 committed while n+1 is still in flight. Every
writer of the merchant waits for that row, so the event is its transaction's last write.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.conversations.models import LiveEvent, LiveEventSeq

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "live.event"


def merchant_group(merchant_id: int) -> str:
    return f"merchant-{merchant_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation-{conversation_id}"


def _next_seq(merchant_id: int, count: int = 1) -> int:
    """The last of `count` seqs reserved for the merchant (they run up to it)."""
    # INSERT … ON CONFLICT … RETURNING works on PostgreSQL and SQLite >= 3.35 and takes the row lock
    # atomically, so two processes can never read the same value.
    table = connection.ops.quote_name(LiveEventSeq._meta.db_table)
    sql = (
        f"INSERT INTO {table} (merchant_id, value) VALUES (%s, %s) "  # noqa: S608 - table name from the model
        f"ON CONFLICT (merchant_id) DO UPDATE SET value = {table}.value + %s RETURNING value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [merchant_id, count, count])
        return int(cursor.fetchone()[0])


def _store_postgresql(event: LiveEvent, payload_json: str) -> None:
    # One statement bumps the seq (locking the counter row) and writes the event: one round trip fewer
    # while every other writer of the merchant waits for that row.
    counter = connection.ops.quote_name(LiveEventSeq._meta.db_table)
    table = connection.ops.quote_name(LiveEvent._meta.db_table)
    sql = (
        f"WITH next AS (INSERT INTO {counter} (merchant_id, value) VALUES (%s, 1) "  # noqa: S608 - model tables
        f"ON CONFLICT (merchant_id) DO UPDATE SET value = {counter}.value + 1 RETURNING value) "
        f"INSERT INTO {table} (merchant_id, seq, kind, payload, conversation_id, topic, created_at) "
        "SELECT %s, next.value, %s, %s::jsonb, %s, %s, %s FROM next RETURNING id, seq"
    )
    params = [event.merchant_id, event.merchant_id, event.kind, payload_json, event.conversation_id, event.topic]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, event.created_at])
        event.pk, event.seq = cursor.fetchone()
    event._state.adding, event._state.db = False, connection.alias


def publish(*, merchant_id: int, kind: str, payload: dict, conversation_id: int | None = None, topic: str = "") -> None:
    """Store a LiveEvent with the merchant's next seq; broadcast it once the transaction commits.
    `topic` names the one group of an event outside chat (see `groups_of`). Callers publish as their last
    write: the merchant's counter row stays locked from here to COMMIT."""
    payload_json = json.dumps(payload, cls=DjangoJSONEncoder)  # encoded once: stored as is, decoded for the layer
    event = LiveEvent(
        merchant_id=merchant_id,
        kind=kind,
        payload=json.loads(payload_json),
        conversation_id=conversation_id,
        topic=topic,
        created_at=timezone.now(),
    )
    with transaction.atomic(savepoint=False):  # part of the caller's transaction; no savepoint round trips
        if connection.vendor == "postgresql":
            _store_postgresql(event, payload_json)
        else:  # SQLite has no INSERT inside WITH
            event.seq = _next_seq(merchant_id)
            event.save()
    transaction.on_commit(lambda: broadcast(event))


def publish_many(*, merchant_id: int, items: list[tuple[str, dict, int | None]]) -> None:
    """Several chat events of one merchant, `(kind, payload, conversation_id)` each, in this order: one seq
    bump and one INSERT for all of them. The seq row is the last lock a writer takes (DR-81)."""
    if not items:
        return
    with transaction.atomic(savepoint=False):
        last = _next_seq(merchant_id, len(items))
        first = last - len(items) + 1
        stored = LiveEvent.objects.bulk_create(
            LiveEvent(merchant_id=merchant_id, seq=first + i, kind=kind,
                      payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
                      conversation_id=conversation_id)
            for i, (kind, payload, conversation_id) in enumerate(items)
        )  # fmt: skip
    transaction.on_commit(lambda: broadcast_many(stored))


def as_message(event: LiveEvent) -> dict:
    return {
        "type": MESSAGE_TYPE,
        "seq": event.seq,
        "kind": event.kind,
        "payload": event.payload,
        "conversation_id": event.conversation_id,
    }


def groups_of(event: LiveEvent) -> list[str]:
    """Where an event goes, for the broadcast and the embedded relay alike: its topic alone, or chat's
    merchant group plus the conversation's group."""
    if event.topic:
        return [event.topic]
    groups = [merchant_group(event.merchant_id)]
    if event.conversation_id:
        groups.append(conversation_group(event.conversation_id))
    return groups


def broadcast(event: LiveEvent) -> None:
    """Fan out to the event's groups. Never raises: the event is already stored, and a client that
    missed the broadcast catches up by seq."""
    broadcast_many([event])


def broadcast_many(events: list[LiveEvent]) -> None:
    """Fan several events out in seq order, in one hand-over to the event loop (a worker waits for the loop
    once per batch, not once per event). Never raises: the events are stored, and clients catch up by seq."""
    layer = get_channel_layer()
    if layer is None or not events:
        return

    async def send_all() -> None:
        for event in events:
            message = as_message(event)
            for group in groups_of(event):
                await layer.group_send(group, message)

    def failed(exc: BaseException) -> None:  # a down channel layer must not fail the writes that already committed
        logger.warning(
            "live_event.broadcast_failed",
            extra={
                "seqs": [e.seq for e in events][:50],
                "groups": sorted({g for e in events for g in groups_of(e)})[:50],
            },
            exc_info=(type(exc), exc, None),
        )

    try:
        _run(layer, send_all, failed)
    except Exception as exc:
        failed(exc)


def _run(layer, coroutine_function, failed) -> None:
    """In a web process, hand the sends to its event loop without waiting for them (DR-84): the worker
    thread, and the pooled connection it holds, go back to the next socket's write at once. A Celery worker
    (no loop of its own) waits on one long-lived background loop per process, so it keeps a single Redis
    connection instead of opening one per event (async_to_sync would start a fresh loop each call). The
    in-memory layer of the embedded mode is sent to in line: its tests and the relay read it synchronously."""
    main_loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(coroutine_function)()
    elif main_loop is not None and main_loop.is_running():
        # Scheduled in commit order on one loop, whose layer publishes under one FIFO lock: a conversation's
        # events still leave this process in seq order.
        future = asyncio.run_coroutine_threadsafe(coroutine_function(), main_loop)

        def settled(done) -> None:
            if not done.cancelled() and done.exception() is not None:
                failed(done.exception())

        future.add_done_callback(settled)
    else:
        asyncio.run_coroutine_threadsafe(coroutine_function(), _background_loop()).result(timeout=BROADCAST_TIMEOUT)


_loops: dict[int, asyncio.AbstractEventLoop] = {}
_loops_lock = threading.Lock()
BROADCAST_TIMEOUT = 5.0


def _background_loop() -> asyncio.AbstractEventLoop:
    pid = os.getpid()  # a forked worker child must not reuse its parent's loop thread (it does not exist there)
    with _loops_lock:
        loop = _loops.get(pid)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-events-broadcast", daemon=True).start()
            _loops[pid] = loop
        return loop


def since(
    *, merchant_id: int, after_seq: int, conversation_id: int | None = None, topic: str = "", limit: int = 500
) -> list[LiveEvent]:
    """Chat events (or one topic's) after `after_seq`, oldest first (for reconnect catch-up)."""
    qs = LiveEvent.objects.for_merchant(merchant_id).filter(seq__gt=after_seq, topic=topic)
    if conversation_id is not None:
        qs = qs.filter(conversation_id=conversation_id)
    return list(qs.order_by("seq")[: max(0, min(limit, 5000))])


def latest(*, merchant_id: int, topic: str, after_seq: int = 0) -> LiveEvent | None:
    """The newest event of a topic after `after_seq`: a snapshot stream (progress) needs only its last."""
    qs = LiveEvent.objects.for_merchant(merchant_id).filter(topic=topic, seq__gt=after_seq)
    return qs.order_by("-seq").first()


def last_seq(*, merchant_id: int) -> int:
    row = LiveEventSeq.objects.filter(merchant_id=merchant_id).values_list("value", flat=True).first()
    return int(row or 0)
