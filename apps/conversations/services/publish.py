"""A message's live event: one helper the message writers share (messages, media, edits), below all of them
so none imports another to broadcast."""

from __future__ import annotations

from apps.conversations import events
from apps.conversations.models import Conversation, Message
from apps.conversations.services.event_shapes import conversation_payload, message_payload


def message_publish(message: Message, kind: str = "message.updated", conversation: Conversation | None = None) -> None:
    """`conversation` (when the message changed it) rides along as `payload["conversation"]`: one event and
    one seq bump instead of a separate `conversation.updated` for every message. Customers never see it: the
    widget projects message events to a few message fields."""
    payload = message_payload(message)
    if conversation is not None:
        payload["conversation"] = conversation_payload(conversation)
    events.publish(
        merchant_id=message.merchant_id,
        kind=kind,
        payload=payload,
        conversation_id=message.conversation_id,
    )
