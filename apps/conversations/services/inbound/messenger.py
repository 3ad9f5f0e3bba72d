"""Messenger Platform webhooks (`object: "page"`) applied: messages, postbacks, delivery and read receipts.
`apps.meta.webhooks.parse_messenger` reads the body; this module only applies its typed events."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.contacts.models import IdentityKind
from apps.contacts.services import Sender
from apps.conversations.models import Channel, ChannelKind, Conversation
from apps.conversations.providers import get_client
from apps.conversations.services.inbound.batch import InboundBatch, Incoming
from apps.conversations.services.inbound.common import ProcessResult, problems_record, safely, status_to_message
from apps.conversations.services.messages import messages_mark_until
from apps.meta import dispatch, webhooks
from apps.meta.errors import GraphError
from apps.meta.webhooks import InboundMessage, StatusUpdate, Watermark

logger = logging.getLogger(__name__)

PROFILE_RETRY_SECONDS = 3600


def process(channel: Channel, data: dict, result: ProcessResult, batch: InboundBatch) -> None:
    """Messages, quick replies and postbacks join the batch (a nameless sender gets its profile name after);
    deliveries and reads are applied after them."""
    parsed = webhooks.parse_messenger(data)
    problems_record(result, parsed.problems)
    channels: dict[str, Channel | None] = {}
    for page_id, event in parsed.events:
        if page_id not in channels:
            channels[page_id] = _page_channel(channel, page_id)
        target = channels[page_id]
        if target is None or isinstance(event, webhooks.Unhandled):
            result.ignored += 1
        elif isinstance(event, InboundMessage):
            item = Incoming(event=event, sender=Sender([(IdentityKind.MESSENGER, event.psid)]), result=result)
            batch.add(target, item)
            batch.defer(_name_fill, target, item)
        else:
            batch.defer(safely, result, "messaging", _apply, target, event, result)


def _page_channel(channel: Channel, page_id: str) -> Channel | None:
    if not page_id or page_id == channel.page_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.MESSENGER, page_id=page_id)
        .select_related("merchant")
        .first()
    )


def _apply(channel: Channel, event: webhooks.Event, result: ProcessResult) -> None:
    if isinstance(event, StatusUpdate):
        _delivery(channel, event)
        result.statuses += 1
    elif isinstance(event, Watermark):
        _watermark(channel, event)
        result.statuses += 1


def _name_fill(channel: Channel, item: Incoming) -> None:
    """A nameless sender gets the name Messenger's User Profile API gives (best effort: at most one attempt
    per person and hour, and any failure leaves the contact as it is)."""
    contact, psid = item.contact, item.event.psid
    if item.message is None or contact is None or contact.name:
        return
    if not cache.add(f"conversations:fb-profile:{channel.public_key}:{psid}", 1, PROFILE_RETRY_SECONDS):
        return
    try:
        name = get_client(channel).profile_name(psid)
    except GraphError as exc:
        logger.info("conversations.messenger_profile_failed", extra={"channel_id": channel.pk, "code": exc.code})
        return
    if not name:
        return
    from apps.contacts.services import contact_update

    try:
        with transaction.atomic():
            contact_update(contact=contact, name=name)
    except ValidationError:
        return


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
