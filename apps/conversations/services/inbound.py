"""Processing stored provider webhooks: every entry, change and item, each idempotent.

The request only verified the signature and stored the raw body (WebhookEvent). This runs in a task
and may run again for the same event (Meta redelivers, the task retries): messages are deduplicated by
provider id, statuses only move forward, consent changes carry an evidence id checked before writing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.conversations import hooks
from apps.conversations.models import (
    Channel,
    ChannelKind,
    Conversation,
    Message,
    MessageDirection,
    MessageKind,
    WebhookEvent,
    WebhookEventStatus,
)
from apps.conversations.providers import MARKETING_OPT_OUT_CODES, ProviderError, get_client
from apps.conversations.services.delivery import consent_revoke_for_error
from apps.conversations.services.messages import message_receive, messages_mark_read_until, status_apply

logger = logging.getLogger(__name__)

WA_MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


@dataclass
class ProcessResult:
    messages: int = 0
    duplicates: int = 0
    statuses: int = 0
    unmatched_statuses: list[dict] = field(default_factory=list)
    preferences: int = 0
    template_updates: int = 0
    ignored: int = 0
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- storage
def webhook_event_store(*, channel: Channel, body: bytes) -> WebhookEvent:
    """Keep the verified raw body; the task does the work."""
    return WebhookEvent.objects.create(
        merchant_id=channel.merchant_id,
        channel=channel,
        provider=channel.kind,
        body=body.decode("utf-8", errors="replace"),
    )


def webhook_event_process(*, event_id: int) -> ProcessResult:
    event = WebhookEvent.objects.select_related("channel__merchant").get(pk=event_id)
    result = ProcessResult()
    try:
        data = json.loads(event.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _finish(event, result, WebhookEventStatus.IGNORED, "body is not a JSON object")
    if event.provider == ChannelKind.WHATSAPP:
        _whatsapp(event.channel, data, result)
    elif event.provider == ChannelKind.MESSENGER:
        _messenger(event.channel, data, result)
    else:
        result.ignored += 1
    status = WebhookEventStatus.FAILED if result.errors else WebhookEventStatus.PROCESSED
    return _finish(event, result, status, "\n".join(result.errors))


def _finish(event: WebhookEvent, result: ProcessResult, status: str, error: str) -> ProcessResult:
    event.status = status
    event.error = error[:5000]
    event.attempts += 1
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "error", "attempts", "processed_at"])
    return result


def _safely(result: ProcessResult, what: str, fn, *args) -> None:
    """One item's failure must not stop the others; the event is marked failed and retried."""
    try:
        with transaction.atomic():
            fn(*args)
    except Exception as exc:
        logger.exception("conversations.webhook_item_failed", extra={"item": what})
        result.errors.append(f"{what}: {exc.__class__.__name__}: {exc}"[:500])


def _as_list(value) -> list:
    return value if isinstance(value, list) else []


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _seconds(value) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def _millis(value) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def _contact(channel: Channel, external_id: str, name: str = ""):
    from apps.contacts.services import contact_resolve_identity

    phone = f"+{external_id}" if channel.kind == ChannelKind.WHATSAPP and external_id.isdigit() else ""
    return contact_resolve_identity(
        merchant=channel.merchant, kind=channel.kind, external_id=external_id, name=name, phone=phone
    )


# --------------------------------------------------------------------------- WhatsApp
def _whatsapp(channel: Channel, data: dict, result: ProcessResult) -> None:
    for entry in _as_list(data.get("entry")):
        for change in _as_list(_as_dict(entry).get("changes")):
            change = _as_dict(change)
            kind, value = change.get("field"), _as_dict(change.get("value"))
            if kind == "messages":
                _wa_messages(_wa_channel(channel, value), value, result)
            elif kind == "user_preferences":
                _wa_preferences(_wa_channel(channel, value), value, result)
            elif kind == "message_template_status_update":
                _safely(result, "template_status", _wa_template_status, channel, value)
                result.template_updates += 1
            elif kind == "template_category_update":
                _safely(result, "template_category", _wa_template_category, channel, value)
                result.template_updates += 1
            else:
                result.ignored += 1
                logger.info("conversations.webhook_ignored", extra={"field": str(kind)[:50]})


def _wa_channel(channel: Channel, value: dict) -> Channel | None:
    """One Meta app posts for all its numbers: route each value to the merchant's channel for its number."""
    number = str(_as_dict(value.get("metadata")).get("phone_number_id") or "")
    if not number or number == channel.phone_number_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.WHATSAPP, phone_number_id=number)
        .select_related("merchant")
        .first()
    )


def _wa_messages(channel: Channel | None, value: dict, result: ProcessResult) -> None:
    if channel is None:
        result.ignored += 1
        return
    names = {
        str(c.get("wa_id")): str(_as_dict(c.get("profile")).get("name") or "")
        for c in map(_as_dict, _as_list(value.get("contacts")))
    }
    for item in map(_as_dict, _as_list(value.get("messages"))):
        _safely(result, f"message {item.get('id')}", _wa_message, channel, item, names, result)
    for item in map(_as_dict, _as_list(value.get("statuses"))):
        _safely(result, f"status {item.get('id')}", _wa_status, channel, item, result)
    for error in _as_list(value.get("errors")):
        logger.warning("conversations.whatsapp_error", extra={"error": str(error)[:500]})


def _wa_message(channel: Channel, item: dict, names: dict, result: ProcessResult) -> None:
    wa_id, provider_id = str(item.get("from") or ""), str(item.get("id") or "")
    if not wa_id or not provider_id:
        result.ignored += 1
        return
    kind, body, attachments, metadata, keyword = wa_message_content(item)
    contact = _contact(channel, wa_id, names.get(wa_id, ""))
    message = message_receive(
        channel=channel,
        contact=contact,
        provider_message_id=provider_id,
        kind=kind,
        body=body,
        attachments=attachments,
        received_at=_seconds(item.get("timestamp")),
        metadata=metadata,
        keyword_text=keyword,
    )
    if message is None:
        result.duplicates += 1
    else:
        result.messages += 1


def wa_message_content(item: dict) -> tuple[str, str, list, dict, str | None]:
    """(kind, body, attachments, metadata, keyword_text) for one WhatsApp `messages[]` item."""
    kind = str(item.get("type") or "unknown")
    content = _as_dict(item.get(kind))
    metadata: dict = {"wa_type": kind}
    if item.get("context"):
        metadata["context"] = item["context"]
    if kind == "text":
        return MessageKind.TEXT, str(content.get("body") or ""), [], metadata, None
    if kind in WA_MEDIA_TYPES:
        attachment = {
            "type": kind,
            "media_id": str(content.get("id") or ""),
            "mime_type": str(content.get("mime_type") or ""),
            "sha256": str(content.get("sha256") or ""),
            "filename": str(content.get("filename") or ""),
            "status": "pending",
        }
        return MessageKind.MEDIA, str(content.get("caption") or ""), [attachment], metadata, None
    if kind == "location":
        metadata["location"] = content
        label = " · ".join(str(content.get(k)) for k in ("name", "address") if content.get(k))
        coords = f"{content.get('latitude')}, {content.get('longitude')}"
        return MessageKind.TEXT, f"📍 {label} ({coords})" if label else f"📍 {coords}", [], metadata, None
    if kind == "interactive":
        reply = _as_dict(content.get(content.get("type") or "")) or _as_dict(content.get("button_reply"))
        metadata["interactive"] = content
        metadata["payload"] = str(reply.get("id") or "")
        return MessageKind.TEXT, str(reply.get("title") or ""), [], metadata, metadata["payload"] or None
    if kind == "button":
        metadata["payload"] = str(content.get("payload") or "")
        return MessageKind.TEXT, str(content.get("text") or ""), [], metadata, metadata["payload"] or None
    if kind == "reaction":
        metadata["reaction"] = content
        return MessageKind.TEXT, str(content.get("emoji") or ""), [], metadata, ""
    metadata["unsupported"] = {k: v for k, v in item.items() if k not in ("from", "id", "timestamp")}
    return MessageKind.TEXT, "", [], metadata, ""


def _wa_status(channel: Channel, item: dict, result: ProcessResult) -> None:
    provider_id, status = str(item.get("id") or ""), str(item.get("status") or "")
    errors = [_as_dict(e) for e in _as_list(item.get("errors"))]
    error = errors[0] if errors else {}
    code = str(error.get("code") or "")
    reason = str(_as_dict(error.get("error_data")).get("details") or error.get("message") or error.get("title") or "")
    at = _seconds(item.get("timestamp"))
    handled = hooks.dispatch_status(
        channel=channel,
        provider_message_id=provider_id,
        status=status,
        timestamp=at,
        error_code=code,
        error_message=reason,
        opaque=item.get("biz_opaque_callback_data"),
    )
    matched = _status_to_message(channel, provider_id, status, at, code, reason)
    result.statuses += 1
    if not matched and not handled:
        result.unmatched_statuses.append(item)


def _status_to_message(channel: Channel, provider_id: str, status: str, at, code: str, reason: str) -> bool:
    if not provider_id or status not in ("sent", "delivered", "read", "failed"):
        return False
    message = (
        Message.objects.select_for_update()
        .filter(channel=channel, provider_message_id=provider_id, direction=MessageDirection.OUTBOUND)
        .first()
    )
    if message is None:
        return False
    changed = status_apply(message=message, status=status, at=at, error_code=code, error_message=reason)
    if changed and status == "failed" and code.isdigit() and int(code) in MARKETING_OPT_OUT_CODES:
        # Meta usually reports 131050 asynchronously, in a failed status rather than in the send answer.
        consent_revoke_for_error(message_id=message.pk, code=int(code))
    return True


def status_retry(*, channel_id: int, item: dict) -> bool:
    """A status that arrived before our send committed its provider id: try matching it again."""
    channel = Channel.objects.select_related("merchant").get(pk=channel_id)
    result = ProcessResult()
    with transaction.atomic():
        _wa_status(channel, item, result)
    return not result.unmatched_statuses


def _wa_preferences(channel: Channel | None, value: dict, result: ProcessResult) -> None:
    if channel is None:
        result.ignored += 1
        return
    for item in map(_as_dict, _as_list(value.get("user_preferences"))):
        if item.get("category") != "marketing_messages" or item.get("value") not in ("stop", "resume"):
            result.ignored += 1
            continue
        _safely(result, f"user_preference {item.get('wa_id')}", _wa_preference, channel, item)
        result.preferences += 1


def _wa_preference(channel: Channel, item: dict) -> None:
    from apps.contacts.models import ConsentEvent
    from apps.contacts.services import consent_record

    wa_id = str(item.get("wa_id") or "")
    if not wa_id:
        return
    action = "revoke" if item["value"] == "stop" else "grant"
    evidence = f"user_preferences:{wa_id}:{item.get('timestamp')}:{item['value']}"
    contact = _contact(channel, wa_id)
    if ConsentEvent.objects.filter(contact=contact, evidence_message_id=evidence).exists():
        return  # the same webhook delivered again
    consent_record(
        merchant=channel.merchant,
        contact=contact,
        channel="whatsapp",
        purpose="marketing",
        action=action,
        source="provider_preference",
        wording=str(item.get("detail") or f"marketing_messages {item['value']} in WhatsApp")[:1000],
        evidence_message_id=evidence,
        actor_label="WhatsApp user_preferences webhook",
        occurred_at=datetime.fromtimestamp(int(item["timestamp"]), tz=UTC) if item.get("timestamp") else None,
    )


def _wa_template_status(channel: Channel, value: dict) -> None:
    hooks.dispatch_template_status(
        merchant=channel.merchant,
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        event=str(value.get("event") or ""),
        reason=str(value.get("reason") or ""),
        raw=value,
    )


def _wa_template_category(channel: Channel, value: dict) -> None:
    # Meta announces a change ahead (`correct_category`) and again once made (`previous_category`):
    # only the completed change is the template's category now.
    if "previous_category" not in value:
        logger.info("conversations.template_category_announced", extra={"template": value.get("message_template_name")})
        return
    hooks.dispatch_template_category(
        merchant=channel.merchant,
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        category=str(value.get("new_category") or ""),
        raw=value,
    )


# --------------------------------------------------------------------------- Messenger
def _messenger(channel: Channel, data: dict, result: ProcessResult) -> None:
    for entry in map(_as_dict, _as_list(data.get("entry"))):
        page_channel = _page_channel(channel, str(entry.get("id") or ""))
        for item in map(_as_dict, _as_list(entry.get("messaging"))):
            if page_channel is None:
                result.ignored += 1
                continue
            _safely(result, "messaging", _messenger_item, page_channel, item, result)


def _page_channel(channel: Channel, page_id: str) -> Channel | None:
    if not page_id or page_id == channel.page_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.MESSENGER, page_id=page_id)
        .select_related("merchant")
        .first()
    )


def _messenger_item(channel: Channel, item: dict, result: ProcessResult) -> None:
    psid = str(_as_dict(item.get("sender")).get("id") or "")
    message = _as_dict(item.get("message"))
    if message and not message.get("is_echo"):
        _messenger_message(channel, psid, item, message, result)
    elif item.get("postback"):
        _messenger_postback(channel, psid, item, result)
    elif item.get("delivery"):
        _messenger_delivery(channel, _as_dict(item["delivery"]), result)
    elif item.get("read"):
        _messenger_read(channel, psid, _as_dict(item["read"]), result)
    else:
        result.ignored += 1


PROFILE_RETRY_SECONDS = 3600


def _messenger_contact(channel: Channel, psid: str):
    """The sender's contact; a nameless one gets the name Messenger's User Profile API gives (best effort:
    at most one attempt per person and hour, and any failure leaves the contact as it is)."""
    contact = _contact(channel, psid)
    if contact.name or not cache.add(f"conversations:fb-profile:{channel.public_key}:{psid}", 1, PROFILE_RETRY_SECONDS):
        return contact
    try:
        name = get_client(channel).profile_name(psid)
    except ProviderError as exc:
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


def _messenger_message(channel: Channel, psid: str, item: dict, message: dict, result: ProcessResult) -> None:
    mid = str(message.get("mid") or "")
    if not psid or not mid:
        result.ignored += 1
        return
    attachments, metadata = [], {}
    for attachment in map(_as_dict, _as_list(message.get("attachments"))):
        payload = _as_dict(attachment.get("payload"))
        if attachment.get("type") == "location" or payload.get("coordinates"):
            metadata["location"] = payload.get("coordinates")
        elif payload.get("url"):
            attachments.append(
                {"type": str(attachment.get("type") or "file"), "source_url": str(payload["url"]), "status": "pending"}
            )
    quick_reply = _as_dict(message.get("quick_reply"))
    if quick_reply:
        metadata["payload"] = str(quick_reply.get("payload") or "")
    received = message_receive(
        channel=channel,
        contact=_messenger_contact(channel, psid),
        provider_message_id=mid,
        kind=MessageKind.MEDIA if attachments else MessageKind.TEXT,
        body=str(message.get("text") or ""),
        attachments=attachments,
        received_at=_millis(item.get("timestamp")),
        metadata=metadata,
        keyword_text=metadata.get("payload") or None,
    )
    result.messages += received is not None
    result.duplicates += received is None


def _messenger_postback(channel: Channel, psid: str, item: dict, result: ProcessResult) -> None:
    postback = _as_dict(item.get("postback"))
    mid = str(postback.get("mid") or f"postback:{psid}:{item.get('timestamp')}")
    received = message_receive(
        channel=channel,
        contact=_messenger_contact(channel, psid),
        provider_message_id=mid,
        kind=MessageKind.TEXT,
        body=str(postback.get("title") or ""),
        attachments=[],
        received_at=_millis(item.get("timestamp")),
        metadata={"payload": str(postback.get("payload") or ""), "postback": True},
        keyword_text=str(postback.get("payload") or "") or None,
    )
    result.messages += received is not None
    result.duplicates += received is None


def _messenger_delivery(channel: Channel, delivery: dict, result: ProcessResult) -> None:
    at = _millis(delivery.get("watermark"))
    for mid in map(str, _as_list(delivery.get("mids"))):
        hooks.dispatch_status(
            channel=channel,
            provider_message_id=mid,
            status="delivered",
            timestamp=at,
            error_code="",
            error_message="",
            opaque=None,
        )
        _status_to_message(channel, mid, "delivered", at, "", "")
        result.statuses += 1


def _messenger_read(channel: Channel, psid: str, read: dict, result: ProcessResult) -> None:
    from apps.contacts.models import ContactIdentity

    contact_ids = ContactIdentity.objects.filter(
        merchant_id=channel.merchant_id, kind=ChannelKind.MESSENGER, external_id=psid
    ).values_list("contact_id", flat=True)
    conversation_ids = list(
        Conversation.objects.filter(channel=channel, contact_id__in=contact_ids).values_list("id", flat=True)
    )
    messages_mark_read_until(
        channel=channel, recipient_conversation_ids=conversation_ids, until=_millis(read.get("watermark"))
    )
    result.statuses += 1
