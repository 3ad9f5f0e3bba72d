"""The consumers' side of the database: the app's services and selectors wrapped for async callers.

Consumers stay free of ORM code. Nothing here queries or writes itself: each database call is one
service or selector run in a worker thread through `database_sync_to_async`; the rest are the pure
helpers that shape frames for the sockets (event dicts, the customer-safe widget views).
"""

from __future__ import annotations

import uuid
from typing import Any

from channels.db import database_sync_to_async as _database_sync_to_async

from apps.conversations import events, selectors, services, widget
from apps.conversations.models import Channel
from apps.conversations.services import widget as widget_writes
from apps.conversations.services.messages import MAX_TEXT
from apps.core import ratelimit


def database_sync_to_async(fn):
    """Like channels' decorator, but off the single thread-sensitive executor: with hundreds of sockets,
    serialising every socket's database work through one thread is what made messages queue up. Each
    call is a complete unit (its own transaction), and connections come from the pool, so threads are safe.
    """
    return _database_sync_to_async(fn, thread_sensitive=False)


# What a customer may see of the event log; anything else (notes, assignment, labels…) stays internal.
WIDGET_KINDS = {"message.created", "message.updated"}
WIDGET_MESSAGE_FIELDS = ("id", "direction", "author_kind", "kind", "body", "status", "created_at")


def header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


# ------------------------------------------------------------------ agents
@database_sync_to_async
def last_seq(*, merchant_id: int) -> int:
    return events.last_seq(merchant_id=merchant_id)


def _event_dict(event) -> dict:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "payload": event.payload,
        "conversation_id": event.conversation_id,
    }


@database_sync_to_async
def events_since(*, merchant_id: int, after_seq: int, conversation_id: int | None, limit: int) -> list[dict]:
    rows = events.since(merchant_id=merchant_id, after_seq=after_seq, conversation_id=conversation_id, limit=limit)
    return [_event_dict(e) for e in rows]


@database_sync_to_async
def conversation_exists(*, merchant_id: int, conversation_id: int) -> bool:
    return selectors.conversation_for_merchant(merchant_id=merchant_id, conversation_id=conversation_id) is not None


@database_sync_to_async
def presence_set(*, merchant_id: int, user, status: str) -> None:
    services.presence_set(merchant=merchant_id, user=user, status=status)


@database_sync_to_async
def conversation_mark_read(*, merchant_id: int, conversation_id: int, user) -> None:
    conversation = selectors.conversation_for_merchant(merchant_id=merchant_id, conversation_id=conversation_id)
    if conversation is not None:
        services.conversation_mark_read(conversation=conversation, user=user)


# ------------------------------------------------------------------ widget
widget_channel = database_sync_to_async(selectors.widget_channel)


def origin_ok(*, channel: Channel, origin: str | None, portal_host: str | None = None) -> bool:
    return widget.origin_allowed(channel=channel, origin=origin, portal_host=portal_host)


def visitor_from_token(*, channel: Channel, token: Any) -> widget.Visitor | None:
    return widget.visitor_token_read(token=token if isinstance(token, str) else "", channel_id=channel.pk)


@database_sync_to_async
def visitor_conversation_id(*, channel: Channel, visitor_id: str) -> int | None:
    conversation = selectors.visitor_conversation(channel=channel, visitor_id=visitor_id)
    return conversation.pk if conversation else None


# The customer reads these in the chat: plain words, never our field names (issue 13).
MESSAGE_NOT_SENT = "This message could not be sent; reload the page and try again."
MESSAGE_EMPTY = "Write a message first."


def widget_message_problem(*, client_id: Any, text: Any) -> str | None:
    if not isinstance(client_id, str):
        return MESSAGE_NOT_SENT
    try:
        uuid.UUID(client_id)
    except ValueError:
        return MESSAGE_NOT_SENT
    if not isinstance(text, str) or not text.strip():
        return MESSAGE_EMPTY
    if len(text) > MAX_TEXT:
        return f"Messages can be at most {MAX_TEXT} characters."
    return None


@database_sync_to_async
def widget_message_receive(
    *, channel: Channel, visitor_id: str, client_id: str, text: str, buckets: tuple = (), contact=None
) -> dict:
    """The ack fields; `contact` is kept by the socket so later messages skip the identity lookup.
    RateLimited (storing nothing) when a bucket is full: counted in the same worker-thread hop as the write,
    since each hop queues behind every other socket's under load."""
    ratelimit.rate_hit(*buckets)
    _message, ack = widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=client_id, text=text, contact=contact
    )
    return ack


def widget_message_view(message: dict) -> dict:
    view = {k: message.get(k) for k in WIDGET_MESSAGE_FIELDS if k in message}
    view["attachments"] = [
        {k: a.get(k) for k in ("type", "filename", "mime_type", "size") if k in a}
        for a in message.get("attachments") or []
        if isinstance(a, dict)
    ]
    return view


def widget_event_view(event: dict) -> dict | None:
    """The customer-safe projection of a stored event, or None when the customer must not see it.

    Only message events the backend marks `internal: false` pass (notes, assignment, labels and
    conversation bookkeeping never do), and only the fields a customer's chat window needs.
    """
    kind, payload = event.get("kind"), event.get("payload") or {}
    if kind not in WIDGET_KINDS or payload.get("internal", True) or payload.get("kind") == "note":
        return None
    return {"type": "event", "seq": event["seq"], "kind": kind, "message": widget_message_view(payload)}


widget_mark_seen = database_sync_to_async(widget_writes.widget_mark_seen)


@database_sync_to_async
def widget_file_links(*, channel: Channel, message_id: int) -> list[dict]:
    from apps.conversations import uploads

    return uploads.widget_file_links(channel=channel, message_ids=[message_id]).get(message_id, [])
