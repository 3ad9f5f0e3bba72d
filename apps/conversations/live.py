"""The database side of the sockets: small synchronous reads and writes wrapped for consumers.

Consumers stay free of ORM code; everything here runs in a worker thread through
`database_sync_to_async` and goes through the app's services and selectors.
"""

from __future__ import annotations

import uuid
from typing import Any

from channels.db import database_sync_to_async as _database_sync_to_async
from django.db import IntegrityError
from django.utils import timezone

from apps.conversations import events, services, widget
from apps.conversations.models import Channel, ChannelKind, Conversation

MAX_TEXT = 4096


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
    return Conversation.objects.for_merchant(merchant_id).filter(pk=conversation_id).exists()


@database_sync_to_async
def presence_set(*, merchant_id: int, user, status: str) -> None:
    services.presence_set(merchant=merchant_id, user=user, status=status)


@database_sync_to_async
def conversation_mark_read(*, merchant_id: int, conversation_id: int, user) -> None:
    conversation = Conversation.objects.for_merchant(merchant_id).filter(pk=conversation_id).first()
    if conversation is not None:
        services.conversation_mark_read(conversation=conversation, user=user)


# ------------------------------------------------------------------ widget
@database_sync_to_async
def widget_channel(*, public_key: str) -> Channel | None:
    return widget_channel_sync(public_key=public_key)


def widget_channel_sync(*, public_key: str) -> Channel | None:
    return (
        Channel.objects.select_related("merchant")
        .filter(public_key=public_key, kind=ChannelKind.WEBCHAT, is_active=True)
        .first()
    )


def origin_ok(*, channel: Channel, origin: str | None) -> bool:
    return widget.origin_allowed(channel=channel, origin=origin)


def visitor_from_token(*, channel: Channel, token: Any) -> widget.Visitor | None:
    return widget.visitor_token_read(token=token if isinstance(token, str) else "", channel_id=channel.pk)


def visitor_contact(*, channel: Channel, visitor_id: str):
    from apps.contacts.models import ContactIdentity

    identity = (
        ContactIdentity.objects.for_merchant(channel.merchant_id)
        .select_related("contact")
        .filter(kind=ChannelKind.WEBCHAT, external_id=visitor_id)
        .first()
    )
    return identity.contact if identity else None


def visitor_conversation(*, channel: Channel, visitor_id: str) -> Conversation | None:
    """The visitor's newest conversation on this channel; the token never names a conversation itself."""
    contact = visitor_contact(channel=channel, visitor_id=visitor_id)
    if contact is None:
        return None
    return (
        Conversation.objects.for_merchant(channel.merchant_id)
        .filter(channel=channel, contact=contact)
        .order_by("-id")
        .first()
    )


@database_sync_to_async
def visitor_conversation_id(*, channel: Channel, visitor_id: str) -> int | None:
    conversation = visitor_conversation(channel=channel, visitor_id=visitor_id)
    return conversation.pk if conversation else None


def widget_message_problem(*, client_id: Any, text: Any) -> str | None:
    if not isinstance(client_id, str):
        return "id must be a UUID the widget generated for this message."
    try:
        uuid.UUID(client_id)
    except ValueError:
        return "id must be a UUID the widget generated for this message."
    if not isinstance(text, str) or not text.strip():
        return "text must be a non-empty string."
    if len(text) > MAX_TEXT:
        return f"text may be at most {MAX_TEXT} characters."
    return None


def widget_receive_sync(
    *, channel: Channel, visitor_id: str, client_id: str, text: str, attachments: list | None = None, contact=None
) -> tuple[Any, dict]:
    """Store a customer's message once per client id (a resend after a reconnect is a no-op)."""
    from apps.contacts.services import contact_resolve_identity
    from apps.conversations.services import message_receive

    if contact is None:
        contact = contact_resolve_identity(merchant=channel.merchant, kind=ChannelKind.WEBCHAT, external_id=visitor_id)
    provider_id = f"webchat:{client_id}"
    try:
        message = message_receive(
            channel=channel,
            contact=contact,
            provider_message_id=provider_id,
            kind="media" if attachments else "text",
            body=text,
            attachments=attachments or [],
            received_at=timezone.now(),
            raw={"client_id": client_id},
        )
    except IntegrityError:  # two sockets of the same visitor raced with one client id
        message = None
    duplicate = message is None
    if message is None:
        from apps.conversations.models import Message

        message = Message.objects.filter(channel=channel, provider_message_id=provider_id).first()
    return message, {
        "message_id": message.pk if message else None,
        "conversation_id": message.conversation_id if message else None,
        "duplicate": duplicate,
        "contact": contact,
    }


@database_sync_to_async
def widget_message_receive(*, channel: Channel, visitor_id: str, client_id: str, text: str, contact=None) -> dict:
    """The ack fields; `contact` is kept by the socket so later messages skip the identity lookup."""
    return widget_receive_sync(channel=channel, visitor_id=visitor_id, client_id=client_id, text=text, contact=contact)[
        1
    ]


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


@database_sync_to_async
def widget_mark_seen(*, channel: Channel, conversation_id: int, up_to_id: int) -> int:
    """The customer's window showed agent messages up to this id: they count as read (the inbox's read ticks)."""
    from django.db import transaction

    from apps.conversations.models import Message, MessageDirection, MessageKind, MessageStatus
    from apps.conversations.services.messages import status_apply

    with transaction.atomic():
        rows = (
            Message.objects.select_for_update()
            .filter(
                merchant_id=channel.merchant_id,
                conversation_id=conversation_id,
                direction=MessageDirection.OUTBOUND,
                status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
                id__lte=up_to_id,
            )
            .exclude(kind=MessageKind.NOTE)
            .order_by("id")[:100]
        )
        return sum(status_apply(message=m, status=MessageStatus.READ) for m in rows)


@database_sync_to_async
def widget_file_links(*, channel: Channel, message_id: int) -> list[dict]:
    from apps.conversations import uploads

    return uploads.widget_file_links(channel=channel, message_ids=[message_id]).get(message_id, [])
