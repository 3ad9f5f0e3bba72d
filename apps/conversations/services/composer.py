"""What an agent's composer sends: canned shortcuts expanded, a file stored with its message."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.conversations import uploads
from apps.conversations.models import CannedResponse, Conversation, Message
from apps.conversations.services.messages import message_send


def canned_expand(*, conversation: Conversation, text: str) -> str:
    """A message that is exactly `/shortcut` becomes the canned response (the script expands as you type,
    this catches a send without the script)."""
    stripped = text.strip()
    if not stripped.startswith("/") or " " in stripped:
        return text
    canned = CannedResponse.objects.for_merchant(conversation.merchant_id).filter(shortcut=stripped[1:]).first()
    return canned.body if canned else text


@transaction.atomic
def composer_send(
    *, conversation: Conversation, author: Any, text: str, is_note: bool, upload: Any = None, media_type: str = ""
) -> Message:
    """The message and its file in one transaction: a refused send (policy, validation) stores neither."""
    message = message_send(
        conversation=conversation,
        author=author,
        text=canned_expand(conversation=conversation, text=text),
        is_note=is_note,
        attachments=[uploads.attachment_summary(upload, media_type)] if upload else None,
    )
    if upload:
        uploads.attachment_store(message=message, upload=upload, media_type=media_type)
    return message
