"""The messages people sent, for a whole webhook batch at once: a fixed number of queries per batch.

Senders, conversations, messages, attachments and live events are each read or written in one statement for
the batch (DR-80). What is rare stays on the one-by-one path it always took: a reopened
conversation, a sender whose ids are partly known, a keyword. Should the bulk path fail on a row (a concurrent
delivery of the same webhook won a unique constraint, a value no bulk statement takes), the batch is applied
again message by message through `message_receive`, whose duplicates and failures are each one item's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.contacts.keywords import keyword_table
from apps.contacts.services import Sender, contacts_resolve_many, contacts_touch_many
from apps.conversations import events
from apps.conversations.models import (
    AuthorKind,
    Channel,
    Conversation,
    Message,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from apps.conversations.services.conversations import conversations_for_inbound_many
from apps.conversations.services.event_shapes import conversation_payload, message_payload
from apps.conversations.services.inbound.common import TRANSIENT_ERRORS, ProcessResult, describe, inbound_store
from apps.conversations.services.media import attachments_create_pending_many, enqueue_fetches
from apps.conversations.services.messages import INBOUND_FIELDS, conversation_count_inbound, message_keywords_apply
from apps.core.sql import rows_update
from apps.meta.webhooks import InboundMessage

logger = logging.getLogger(__name__)


@dataclass
class Incoming:
    """One message of the batch, who sent it, and the tally of the webhook event it came in."""

    event: InboundMessage
    sender: Sender
    result: ProcessResult
    contact: object = None
    message: Message | None = None


def inbound_messages_store(*, channel: Channel, items: list[Incoming]) -> list[Incoming]:
    """Store every new message of the batch once (by provider id); the items stored, with their contact."""
    fresh = _fresh(channel, items)
    if not fresh:
        return []
    try:
        with transaction.atomic():
            stored = _store(channel, fresh)
    except TRANSIENT_ERRORS as exc:
        logger.exception("conversations.webhook_batch_failed", extra={"channel_id": channel.pk})
        for item in fresh:
            item.result.errors.append(describe(f"message {item.event.message_id}", exc))
        return []
    except Exception:  # a unique constraint lost to a concurrent delivery, or one bad row: one by one
        logger.info("conversations.webhook_batch_one_by_one", extra={"channel_id": channel.pk}, exc_info=True)
        return [item for item in fresh if _one(channel, item)]
    for item in stored:
        item.result.messages += 1
    return stored


def _fresh(channel: Channel, items: list[Incoming]) -> list[Incoming]:
    """The items not stored yet (Meta redelivers); a duplicate is counted on its own event."""
    ids = {item.event.message_id for item in items}
    stored = set(
        Message.objects.filter(channel=channel, provider_message_id__in=ids).values_list(
            "provider_message_id", flat=True
        )
    )
    fresh, seen = [], set()
    for item in items:
        duplicate = item.event.message_id in stored or item.event.message_id in seen
        seen.add(item.event.message_id)
        if duplicate:
            item.result.duplicates += 1
        elif _readable(item):
            fresh.append(item)
    return fresh


def _readable(item: Incoming) -> bool:
    if item.event.content.kind in (MessageKind.TEXT, MessageKind.MEDIA):
        return True
    error = ValidationError({"kind": "inbound messages are text or media"})
    item.result.rejected.append(describe(f"message {item.event.message_id}", error))
    return False


def _store(channel: Channel, fresh: list[Incoming]) -> list[Incoming]:
    now = timezone.now()
    items = _with_contacts(channel, fresh)
    first_at: dict = {}
    for item in items:
        first_at.setdefault(item.contact, _received_at(item.event, now))
    conversations = conversations_for_inbound_many(channel=channel, first_at=first_at)
    contacts_touch_many(contacts=list(first_at), seen_at=now)  # after the conversations: one lock order
    for item in items:
        item.message = _message(channel, conversations[item.contact.pk].pk, item.event, now)
    Message.objects.bulk_create([item.message for item in items])
    pending = attachments_create_pending_many(messages=[item.message for item in items])
    live = []
    for item in items:
        conversation = conversations[item.contact.pk]
        conversation_count_inbound(conversation=conversation, message=item.message)
        conversation.updated_at = now
        live.append(("message.created", _payload(item.message, conversation), conversation.pk))
    changed = list({conversations[item.contact.pk].pk: conversations[item.contact.pk] for item in items}.values())
    rows_update(Conversation, changed, INBOUND_FIELDS)
    events.publish_many(merchant_id=channel.merchant_id, items=live)
    enqueue_fetches(pending)
    _keywords(channel, items)
    return items


def _with_contacts(channel: Channel, fresh: list[Incoming]) -> list[Incoming]:
    resolved = contacts_resolve_many(merchant=channel.merchant, senders=[item.sender for item in fresh])
    items = []
    for item, contact in zip(fresh, resolved, strict=True):
        if isinstance(contact, ValidationError):
            item.result.rejected.append(describe(f"message {item.event.message_id}", contact))
        else:
            item.contact = contact
            items.append(item)
    return items


def _received_at(event: InboundMessage, now: datetime) -> datetime:
    return min(event.timestamp or now, now)  # never trust a clock from the future


def _message(channel: Channel, conversation_id: int, event: InboundMessage, now: datetime) -> Message:
    content = event.content
    return Message(
        merchant_id=channel.merchant_id,
        conversation_id=conversation_id,
        channel=channel,
        direction=MessageDirection.INBOUND,
        author_kind=AuthorKind.CONTACT,
        kind=content.kind,
        body=content.body or "",
        attachments=list(content.attachments or []),
        provider_message_id=event.message_id,
        status=MessageStatus.RECEIVED,
        metadata=dict(content.metadata or {}),
        created_at=_received_at(event, now),
    )


def _payload(message: Message, conversation) -> dict:
    payload = message_payload(message)
    payload["conversation"] = conversation_payload(conversation)
    return payload


def _keywords(channel: Channel, items: list[Incoming]) -> None:
    table = keyword_table(merchant=channel.merchant)
    for item in items:
        content = item.event.content
        text = content.keyword if content.keyword is not None else content.body
        message_keywords_apply(message=item.message, contact=item.contact, text=text, table=table)


def _one(channel: Channel, item: Incoming) -> bool:
    """The one-by-one path for an item of a batch that could not be stored in bulk; True when stored."""
    from apps.contacts.services import contact_resolve_identities

    try:
        with transaction.atomic():
            contact = contact_resolve_identities(
                merchant=channel.merchant, identities=item.sender.identities, name=item.sender.name, touch=False
            )
            item.contact, item.message = contact, inbound_store(channel, contact, item.event)
            contacts_touch_many(contacts=[contact], seen_at=timezone.now())
    except TRANSIENT_ERRORS as exc:
        item.result.errors.append(describe(f"message {item.event.message_id}", exc))
        return False
    except Exception as exc:
        logger.exception("conversations.webhook_item_rejected", extra={"item": item.event.message_id})
        item.result.rejected.append(describe(f"message {item.event.message_id}", exc))
        return False
    item.result.messages += item.message is not None
    item.result.duplicates += item.message is None
    return item.message is not None


class InboundBatch:
    """What one run collects from its webhook events: the messages, stored per channel in bulk first, then
    every other item in body order (a reaction or an edit may name a message of the same batch)."""

    def __init__(self) -> None:
        self.messages: dict[int, tuple[Channel, list[Incoming]]] = {}
        self.later: list[tuple] = []

    def add(self, channel: Channel, item: Incoming) -> None:
        self.messages.setdefault(channel.pk, (channel, []))[1].append(item)

    def defer(self, fn, *args) -> None:
        self.later.append((fn, args))

    def apply(self) -> None:
        for channel, items in self.messages.values():
            inbound_messages_store(channel=channel, items=items)
        for fn, args in self.later:
            fn(*args)
