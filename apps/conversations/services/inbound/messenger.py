"""Messenger Platform webhooks (`object: "page"`): messages, postbacks, delivery and read receipts."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.contacts.models import IdentityKind
from apps.conversations.models import Channel, ChannelKind, Conversation, MessageKind, MessageStatus
from apps.conversations.providers import get_client
from apps.conversations.services.inbound.common import (
    ProcessResult,
    safely,
    sender_contact,
    status_to_message,
)
from apps.conversations.services.messages import message_receive, messages_mark_until
from apps.meta import dispatch, webhooks
from apps.meta.content import location_body, messenger_location
from apps.meta.errors import GraphError
from apps.meta.webhooks import as_dict, as_list, millis

logger = logging.getLogger(__name__)

PROFILE_RETRY_SECONDS = 3600


def process(channel: Channel, data: dict, result: ProcessResult) -> None:
    for entry in map(as_dict, as_list(data.get("entry"))):
        page_channel = _page_channel(channel, str(entry.get("id") or ""))
        for item in map(as_dict, as_list(entry.get("messaging"))):
            if page_channel is None:
                result.ignored += 1
                continue
            safely(result, "messaging", _item, page_channel, item, result)


def _page_channel(channel: Channel, page_id: str) -> Channel | None:
    if not page_id or page_id == channel.page_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.MESSENGER, page_id=page_id)
        .select_related("merchant")
        .first()
    )


def _item(channel: Channel, item: dict, result: ProcessResult) -> None:
    psid = str(as_dict(item.get("sender")).get("id") or "")
    message = as_dict(item.get("message"))
    if message and not message.get("is_echo"):
        _message(channel, psid, item, message, result)
    elif item.get("postback"):
        _postback(channel, psid, item, result)
    elif item.get("delivery"):
        _delivery(channel, psid, as_dict(item["delivery"]), result)
    elif item.get("read"):
        _watermark(channel, psid, as_dict(item["read"]).get("watermark"), MessageStatus.READ)
        result.statuses += 1
    else:
        result.ignored += 1


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


def _message(channel: Channel, psid: str, item: dict, message: dict, result: ProcessResult) -> None:
    mid = str(message.get("mid") or "")
    if not psid or not mid:
        result.ignored += 1
        return
    attachments, metadata, body = [], {}, str(message.get("text") or "")
    for attachment in map(as_dict, as_list(message.get("attachments"))):
        payload = as_dict(attachment.get("payload"))
        location = messenger_location(payload)
        if location is not None:
            metadata["location"] = location
            body = body or location_body(location, str(attachment.get("title") or ""))
        elif payload.get("url"):
            attachments.append(
                {"type": str(attachment.get("type") or "file"), "source_url": str(payload["url"]), "status": "pending"}
            )
    quick_reply = as_dict(message.get("quick_reply"))
    if quick_reply:
        metadata["payload"] = str(quick_reply.get("payload") or "")
    received = message_receive(
        channel=channel,
        contact=_contact(channel, psid),
        provider_message_id=mid,
        kind=MessageKind.MEDIA if attachments else MessageKind.TEXT,
        body=body,
        attachments=attachments,
        received_at=millis(item.get("timestamp")),
        metadata=metadata,
        keyword_text=metadata.get("payload") or ("" if "location" in metadata else None),
    )
    result.messages += received is not None
    result.duplicates += received is None


def _postback(channel: Channel, psid: str, item: dict, result: ProcessResult) -> None:
    postback = as_dict(item.get("postback"))
    mid = str(postback.get("mid") or f"postback:{psid}:{item.get('timestamp')}")
    received = message_receive(
        channel=channel,
        contact=_contact(channel, psid),
        provider_message_id=mid,
        kind=MessageKind.TEXT,
        body=str(postback.get("title") or ""),
        attachments=[],
        received_at=millis(item.get("timestamp")),
        metadata={"payload": str(postback.get("payload") or ""), "postback": True},
        keyword_text=str(postback.get("payload") or "") or None,
    )
    result.messages += received is not None
    result.duplicates += received is None


def _delivery(channel: Channel, psid: str, delivery: dict, result: ProcessResult) -> None:
    """`mids` name the delivered messages when Meta sends them; the watermark alone says "everything up to
    this time was delivered" (the mids are often left out)."""
    for update in webhooks.messenger_deliveries(delivery):
        dispatch.publish(update, channel=channel)
        status_to_message(channel, update)
        result.statuses += 1
    if delivery.get("watermark"):
        _watermark(channel, psid, delivery["watermark"], MessageStatus.DELIVERED)
        result.statuses += 1


def _watermark(channel: Channel, psid: str, watermark, status: str) -> None:
    from apps.contacts.models import ContactIdentity

    contact_ids = ContactIdentity.objects.filter(
        merchant_id=channel.merchant_id, kind=IdentityKind.MESSENGER, external_id=psid
    ).values_list("contact_id", flat=True)
    conversation_ids = list(
        Conversation.objects.filter(channel=channel, contact_id__in=contact_ids).values_list("id", flat=True)
    )
    messages_mark_until(
        channel=channel, recipient_conversation_ids=conversation_ids, until=millis(watermark), status=status
    )
