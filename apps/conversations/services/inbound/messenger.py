"""Messenger Platform webhooks (`object: "page"`) applied: messages, postbacks, delivery and read receipts.
`apps.meta.webhooks.parse_messenger` reads the body; this module only applies its typed events."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.contacts.models import IdentityKind
from apps.conversations.models import Channel, ChannelKind, Conversation
from apps.conversations.providers import get_client
from apps.conversations.services.inbound.common import (
    ProcessResult,
    inbound_store,
    problems_record,
    safely,
    sender_contact,
    status_to_message,
)
from apps.conversations.services.messages import messages_mark_until
from apps.meta import dispatch, webhooks
from apps.meta.errors import GraphError
from apps.meta.webhooks import InboundMessage, StatusUpdate, Watermark

logger = logging.getLogger(__name__)

PROFILE_RETRY_SECONDS = 3600


def process(channel: Channel, data: dict, result: ProcessResult) -> None:
    parsed = webhooks.parse_messenger(data)
    problems_record(result, parsed.problems)
    channels: dict[str, Channel | None] = {}
    for page_id, event in parsed.events:
        if page_id not in channels:
            channels[page_id] = _page_channel(channel, page_id)
        if channels[page_id] is None or isinstance(event, webhooks.Unhandled):
            result.ignored += 1
        else:
            safely(result, "messaging", _apply, channels[page_id], event, result)


def _page_channel(channel: Channel, page_id: str) -> Channel | None:
    if not page_id or page_id == channel.page_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.MESSENGER, page_id=page_id)
        .select_related("merchant")
        .first()
    )


def _apply(channel: Channel, event: webhooks.Event, result: ProcessResult) -> None:
    if isinstance(event, InboundMessage):
        _message(channel, event, result)
    elif isinstance(event, StatusUpdate):
        _delivery(channel, event)
        result.statuses += 1
    elif isinstance(event, Watermark):
        _watermark(channel, event)
        result.statuses += 1


def _contact(channel: Channel, psid: str):
    """The sender's contact; a nameless one gets the name Messenger's User Profile API gives (best effort:
    at most one attempt per person and hour, and any failure leaves the contact as it is)."""
    contact = sender_contact(channel, [(IdentityKind.MESSENGER, psid)])
    if contact.name or not cache.add(f"conversations:fb-profile:{channel.public_key}:{psid}", 1, PROFILE_RETRY_SECONDS):
        return contact
    try:
        name = get_client(channel).profile_name(psid)
    except GraphError as exc:
        logger.info("conversations.messenger_profile_failed", extra={"channel_id": channel.pk, "code": exc.code})
        return contact
    if not name:
        return contact
    from apps.contacts.services import contact_update

    try:
        with transaction.atomic():
            return contact_update(contact=contact, name=name)
    except ValidationError:
        return contact


def _message(channel: Channel, event: InboundMessage, result: ProcessResult) -> None:
    """A message, quick reply or postback: all three are content the person sent."""
    received = inbound_store(channel, _contact(channel, event.psid), event)
    result.messages += received is not None
    result.duplicates += received is None


def _delivery(channel: Channel, update: StatusUpdate) -> None:
    """A delivery naming a mid. The watermark beside it (often alone: the mids are left out) says "everything
    up to this time was delivered" and arrives as its own Watermark."""
    dispatch.publish(update, channel=channel)
    status_to_message(channel, update)


def _watermark(channel: Channel, mark: Watermark) -> None:
    from apps.contacts.models import ContactIdentity

    contact_ids = ContactIdentity.objects.filter(
        merchant_id=channel.merchant_id, kind=IdentityKind.MESSENGER, external_id=mark.psid
    ).values_list("contact_id", flat=True)
    conversation_ids = list(
        Conversation.objects.filter(channel=channel, contact_id__in=contact_ids).values_list("id", flat=True)
    )
    messages_mark_until(
        channel=channel, recipient_conversation_ids=conversation_ids, until=mark.until, status=mark.status
    )
