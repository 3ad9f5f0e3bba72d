"""The JSON shapes carried by live events (agents' inbox and, for public messages, the widget).

Every payload has `internal`: True for anything a customer must never see (notes, assignment,
labels). The widget relays only events whose payload says `internal: false`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.conversations.models import Conversation, Message, MessageKind
from apps.conversations.uploads import attachments_published

if TYPE_CHECKING:
    from apps.accounts.models import User


def user_name(user: User | None) -> str:
    return user.display_name if user is not None else ""


def conversation_payload(conversation: Conversation) -> dict:
    return {
        "internal": True,
        "id": conversation.pk,
        "channel_id": conversation.channel_id,
        "contact_id": conversation.contact_id,
        "status": conversation.status,
        "snoozed_until": conversation.snoozed_until,
        "assignee_id": conversation.assignee_id,
        "assignee_name": user_name(conversation.assignee) if conversation.assignee_id else "",
        "labels": list(conversation.labels or []),
        "priority": conversation.priority,
        "last_message_preview": conversation.last_message_preview,
        "last_message_at": conversation.last_message_at,
        "last_inbound_at": conversation.last_inbound_at,
        "unread_count": conversation.unread_count,
    }


def message_error(message: Message) -> dict | None:
    if not message.error_code and message.status != "failed":
        return None
    return {"code": message.error_code or "unknown", "message": message.error_message}


def message_payload(message: Message) -> dict:
    return {
        "internal": message.kind == MessageKind.NOTE,
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "author_kind": message.author_kind,
        "author_id": message.author_id,
        "author_name": user_name(message.author) if message.author_id else "",
        "kind": message.kind,
        "body": message.body,
        "attachments": attachments_published(message.attachments),
        "status": message.status,
        "error": message_error(message),
        "error_code": message.error_code,
        "error_message": message.error_message,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "delivered_at": message.delivered_at,
        "read_at": message.read_at,
        # The customer's reaction and edits change a stored message (services/message_changes.py).
        "reaction": str((message.metadata or {}).get("reaction", {}).get("emoji") or ""),
        "edited": bool((message.metadata or {}).get("edits")),
    }
