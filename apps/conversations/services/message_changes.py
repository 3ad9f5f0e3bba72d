"""Inbound items that change what is already stored instead of adding a message: reactions, edits, notices.

Meta sends a reaction or an edit as a `messages[]` item of its own; stored as one it would be a blank
message in the inbox. Each of these writes is idempotent (Meta redelivers) and order-safe (an older
reaction or edit arriving late does not undo a newer one).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from apps.conversations.models import (
    AuthorKind,
    Channel,
    Conversation,
    Message,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from apps.conversations.services.conversations import conversation_for_inbound
from apps.conversations.services.publish import message_publish

logger = logging.getLogger(__name__)


def _locked(channel: Channel, provider_message_id: str, direction: str | None = None) -> Message | None:
    if not provider_message_id:
        return None
    qs = Message.objects.select_for_update().filter(channel=channel, provider_message_id=provider_message_id)
    return (qs.filter(direction=direction) if direction else qs).first()


def message_reaction_set(*, channel: Channel, provider_message_id: str, emoji: str, at: datetime) -> Message | None:
    """The customer's reaction to a message in the chat (ours or theirs); a blank emoji removes it.

    Kept as `metadata["reaction"] = {"emoji", "at"}`; None when the message is not stored here.
    """
    message = _locked(channel, provider_message_id)
    if message is None:
        return None
    current = message.metadata.get("reaction") or {}
    stamp = int(at.timestamp())
    if current.get("at", 0) > stamp or current == {"emoji": emoji, "at": stamp}:
        return message  # a late older reaction, or the same one redelivered
    message.metadata["reaction"] = {"emoji": emoji, "at": stamp}
    message.save(update_fields=["metadata"])
    message_publish(message)
    return message


def message_edit_apply(
    *, channel: Channel, provider_message_id: str, edit_id: str, body: str, at: datetime
) -> Message | None:
    """The customer edited an earlier message: the body becomes the newest edit's text; the original
    (`metadata["original_body"]`) and every edit (`metadata["edits"]`) stay, since who said what first
    matters in a dispute. None when the original is not stored here."""
    message = _locked(channel, provider_message_id, MessageDirection.INBOUND)
    if message is None:
        return None
    edits = list(message.metadata.get("edits") or [])
    if any(edit.get("id") == edit_id for edit in edits):
        return message  # redelivered
    edits = sorted([*edits, {"id": edit_id, "at": int(at.timestamp()), "body": body}], key=lambda e: e["at"])
    message.metadata.setdefault("original_body", message.body)
    message.metadata["edits"] = edits
    message.body = edits[-1]["body"]  # an edit that overtook a newer one is history, not the current text
    message.save(update_fields=["body", "metadata"])
    message_publish(message)
    return message


def conversation_system_note(
    *, channel: Channel, contact, provider_message_id: str, body: str, at: datetime, metadata: dict
) -> Message | None:
    """A notice from the provider about the contact (a new number, a changed security code), shown to
    agents in the conversation and never to the customer; None when it was already stored."""
    conversation = (
        Conversation.objects.filter(channel=channel, contact=contact).order_by("-id").first()
        or conversation_for_inbound(channel=channel, contact=contact, at=at)[0]
    )
    try:
        with transaction.atomic():
            message = Message.objects.create(
                merchant_id=channel.merchant_id,
                conversation=conversation,
                channel=channel,
                direction=MessageDirection.INBOUND,
                author_kind=AuthorKind.SYSTEM,
                kind=MessageKind.NOTE,
                body=body,
                provider_message_id=provider_message_id,
                status=MessageStatus.RECEIVED,
                metadata=metadata,
                created_at=at,
            )
    except IntegrityError:  # the same notice delivered again
        return None
    message_publish(message, "message.created")
    return message
