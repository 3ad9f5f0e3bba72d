"""The message write paths: receive (all channels), send (the one way out), deliver, status updates."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.contacts.keywords import CONFIRM_WORDS, KEYWORD_MAX_LENGTH, keyword_handle_inbound, keyword_normalize
from apps.conversations import outbound, policy
from apps.conversations.models import (
    AuthorKind,
    Channel,
    ChannelKind,
    Conversation,
    Message,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from apps.conversations.services.conversations import conversation_for_inbound
from apps.conversations.services.media import attachments_create_pending, enqueue_fetches
from apps.conversations.services.publish import message_publish
from apps.core.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)

MAX_TEXT = 4096  # WhatsApp's limit for a text body; Messenger allows 2000 (checked at send)
MESSENGER_MAX_TEXT = 2000
PREVIEW_LENGTH = 200
# Outbound statuses only move forward; "failed" can only replace queued/sent.
STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
}


class _Duplicate(Exception):
    pass


def _preview(message: Message) -> str:
    if message.body:
        return message.body[:PREVIEW_LENGTH]
    if message.kind == MessageKind.MEDIA:
        kinds = {str(a.get("type") or "file") for a in message.attachments or [] if isinstance(a, dict)}
        return f"[{', '.join(sorted(kinds)) or 'attachment'}]"
    if message.kind == MessageKind.TEMPLATE:
        return f"[template {message.template_name}]"
    return ""


# --------------------------------------------------------------------------- inbound
def message_receive(
    *,
    channel: Channel,
    contact,
    provider_message_id: str,
    kind: str,
    body: str,
    attachments: list,
    received_at: datetime,
    raw: dict | None = None,
    metadata: dict | None = None,
    keyword_text: str | None = None,
    visitor_id: str = "",
) -> Message | None:
    """Store a customer's message once per provider id; None when it was already stored.

    Reopens a resolved/snoozed conversation, counts it unread, runs the contacts keyword engine (an
    opt-out still stores the message) and queues the keyword's automatic reply. `visitor_id` is the widget
    browser writing (blank on WhatsApp and Messenger): it picks that browser's own thread.
    """
    if kind not in (MessageKind.TEXT, MessageKind.MEDIA):
        raise ValidationError({"kind": "inbound messages are text or media"})
    received_at = min(received_at or timezone.now(), timezone.now())  # never trust a clock from the future
    try:
        with transaction.atomic():
            message, conversation = _receive(
                channel, contact, provider_message_id, kind, body, attachments, received_at, raw, metadata, visitor_id
            )
            reply = _keyword_reply(message, contact, keyword_text if keyword_text is not None else body)
            # The event is the last write before COMMIT: its seq bump locks the merchant's counter row, which
            # every other writer of the merchant waits for, so nothing else may run while it is held.
            message_publish(message, "message.created", conversation)
            if reply:
                _keyword_reply_send(message, reply)
    except _Duplicate:
        return None
    return message


def _receive(
    channel, contact, provider_message_id, kind, body, attachments, received_at, raw, metadata, visitor_id
) -> tuple[Message, Conversation]:
    # No "already stored?" SELECT first: the unique constraint answers that at the INSERT below, and a
    # duplicate (rare: Meta redelivering) rolls back everything this block did.
    conversation, _ = conversation_for_inbound(
        channel=channel, contact=contact, at=received_at, publish=False, visitor_id=visitor_id
    )
    meta = dict(metadata or {})
    if raw is not None:
        meta["raw"] = raw
    try:
        # No savepoint: an IntegrityError here rolls back message_receive's own atomic block as a duplicate.
        message = Message.objects.create(
            merchant_id=channel.merchant_id,
            conversation=conversation,
            channel=channel,
            direction=MessageDirection.INBOUND,
            author_kind=AuthorKind.CONTACT,
            kind=kind,
            body=body or "",
            attachments=list(attachments or []),
            provider_message_id=provider_message_id or "",
            status=MessageStatus.RECEIVED,
            metadata=meta,
            created_at=received_at,
        )
    except IntegrityError:  # the same provider id committed by a concurrent delivery of the webhook
        raise _Duplicate from None
    _touch_inbound(conversation, message)
    enqueue_fetches(attachments_create_pending(message=message))
    return message, conversation


def _touch_inbound(conversation: Conversation, message: Message) -> None:
    conversation_count_inbound(conversation=conversation, message=message)
    conversation.save(update_fields=INBOUND_FIELDS)


INBOUND_FIELDS = ["last_inbound_at", "last_message_at", "last_message_preview", "unread_count", "updated_at"]


def conversation_count_inbound(*, conversation: Conversation, message: Message) -> None:
    """What an inbound message changes on its conversation, in memory (the caller saves INBOUND_FIELDS)."""
    at = message.created_at
    if conversation.last_inbound_at is None or at > conversation.last_inbound_at:
        conversation.last_inbound_at = at
    if at >= conversation.last_message_at or conversation.unread_count == 0:
        conversation.last_message_at = max(at, conversation.last_message_at)
        conversation.last_message_preview = _preview(message)
    conversation.unread_count += 1


def message_keywords_apply(*, message: Message, contact, text: str, table: dict[str, str] | None = None) -> None:
    """The keyword engine on an inbound message and its automatic reply, at once: for the webhook batch, whose
    messages' events are already out when its keywords run."""
    reply = _keyword_reply(message, contact, text, table=table)
    if reply:
        _keyword_reply_send(message, reply)


def _keyword_reply(message: Message, contact, text: str, table: dict[str, str] | None = None) -> str | None:
    """Act on a keyword (an opt-out is recorded at once); the automatic reply to send after the message's event.
    `table` (the merchant's `keyword_table`, read once per webhook batch) spares the engine's own lookup for a
    text that is no keyword."""
    if not text or (message.kind != MessageKind.TEXT and not message.metadata.get("payload")):
        return None
    word = keyword_normalize(text)
    if len(word) > KEYWORD_MAX_LENGTH:
        return None  # the engine ignores anything longer than a keyword: spare its table lookup
    if table is not None and word not in table and word not in CONFIRM_WORDS:
        return None
    result = keyword_handle_inbound(
        merchant=message.channel.merchant,
        contact=contact,
        channel=message.channel.kind,
        text=text,
        message_id=message.provider_message_id or str(message.pk),
    )
    if result is None or not result.reply_text:
        return None
    message.metadata["keyword"] = result.kind
    message.save(update_fields=["metadata"])
    return result.reply_text


def _keyword_reply_send(message: Message, reply: str) -> None:
    try:
        message_send(conversation=message.conversation, text=reply, automated=True)
    except (policy.PolicyRefused, ValidationError) as exc:
        logger.warning("conversations.keyword_reply_refused", extra={"message_id": message.pk, "reason": str(exc)})


# --------------------------------------------------------------------------- outbound
def _text_check(channel: Channel, text: str, has_attachments: bool, is_template: bool) -> str:
    text = (text or "").strip()
    if not text and not has_attachments and not is_template:
        raise ValidationError({"text": "write a message"})
    limit = MESSENGER_MAX_TEXT if channel.kind == ChannelKind.MESSENGER else MAX_TEXT
    if len(text) > limit:
        raise ValidationError({"text": f"at most {limit} characters on {channel.kind}"})
    return text


def _provider_attachments_check(channel: Channel, text: str, attachments) -> None:
    # One Meta message carries one file; Messenger's attachment messages cannot carry text at all.
    if len(attachments) > 1:
        raise ValidationError({"attachments": f"send one file per message on {channel.kind}"})
    if channel.kind == ChannelKind.MESSENGER and text:
        raise ValidationError({"attachments": "Messenger sends a file without text: send the text as its own message"})


@transaction.atomic  # from the check to the stored message: the frequency cap's lock holds until then
def message_send(
    *,
    conversation: Conversation,
    author=None,
    text: str = "",
    template=None,
    template_params: dict | None = None,
    automated: bool = False,
    is_note: bool = False,
    attachments=None,
    human_agent: bool | None = None,
    opaque: str | None = None,
    now: datetime | None = None,
    category: str = outbound.ContentCategory.SERVICE,
) -> Message:
    """The only way a message leaves: the outbound check, store `queued`, deliver after commit.

    Raises PolicyRefused (with the policy code) or ValidationError (bad input). Notes are internal:
    stored and shown to agents, never sent. Web-chat replies are delivered by the live event itself.
    `category`: what free text is; an automated sender of promotions passes "marketing" (a template's
    own category, read again now, decides for a template).
    """
    channel = conversation.channel
    text = _text_check(channel, text, bool(attachments), template is not None)
    if attachments and channel.kind != ChannelKind.WEBCHAT and not is_note:
        _provider_attachments_check(channel, text, attachments)
    if is_note:
        return _store_outbound(
            conversation, author, text, MessageKind.NOTE, MessageStatus.SENT, automated, human=author is not None
        )
    if human_agent is None:
        human_agent = author is not None and not automated
    template, decision, content = _outbound_allow(
        conversation, template, template_params, category, automated, human_agent, now or timezone.now()
    )
    webchat = channel.kind == ChannelKind.WEBCHAT
    message = _store_outbound(
        conversation,
        author,
        text if template is None else policy.template_render(template, template_params),
        MessageKind.TEMPLATE if template is not None else (MessageKind.MEDIA if attachments else MessageKind.TEXT),
        MessageStatus.SENT if webchat else MessageStatus.QUEUED,
        automated,
        attachments=attachments,
        template=template,
        template_params=template_params,
        decision=decision,
        metadata=_outbound_metadata(opaque, content.category, template),
        human=human_agent and not automated,
    )
    if not webchat:
        enqueue_on_commit("apps.conversations.tasks.message_deliver_task", message.pk)
    return message


def _outbound_allow(
    conversation, template, template_params, category: str, automated: bool, human_agent: bool, now: datetime
) -> tuple[object | None, policy.PolicyDecision, outbound.Outbound]:
    """The outbound check, on the template as stored now; raises PolicyRefused. -> (that template, decision,
    what was checked)"""
    if template is not None:
        template = outbound.template_fresh(merchant=conversation.merchant, template=template)
    content = outbound.Outbound(
        category=outbound.content_category(template=template, declared=category),
        is_template=template is not None,
        automated=automated,
        human_agent=human_agent,
    )
    decision = outbound.outbound_check(conversation=conversation, content=content, now=now)
    if not decision.allowed:
        raise policy.PolicyRefused(decision.code, decision.message)
    if template is not None:
        policy.template_check(template=template, channel=conversation.channel, params=template_params)
    return template, decision, content


def _outbound_metadata(opaque: str | None, category: str, template=None) -> dict:
    metadata = {"opaque": opaque} if opaque else {}
    parts = outbound.template_parts(template) if template is not None else {}
    if any(parts.values()):  # header and buttons travel with the message, so delivery sends them
        metadata[outbound.TEMPLATE_PARTS_KEY] = parts
    if category == outbound.ContentCategory.MARKETING:
        metadata[outbound.CATEGORY_KEY] = category  # delivery checks the consent again
    return metadata


@transaction.atomic
def _store_outbound(
    conversation,
    author,
    text,
    kind,
    status,
    automated,
    *,
    attachments=None,
    template=None,
    template_params=None,
    decision=None,
    metadata: dict | None = None,
    human: bool = False,
) -> Message:
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    now = timezone.now()
    message = Message.objects.create(
        merchant_id=conversation.merchant_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=MessageDirection.OUTBOUND,
        author_kind=AuthorKind.AGENT if human else AuthorKind.BOT,
        author=author,
        kind=kind,
        body=text,
        attachments=list(attachments or []),
        status=status,
        automated=automated,
        template_name=getattr(template, "name", "") or "",
        template_language=getattr(template, "language", "") or "",
        template_params=dict(template_params or {}),
        messaging_type=(decision.messaging_type or "") if decision else "",
        tag=(decision.tag or "") if decision else "",
        metadata=metadata or {},
        created_at=now,
        sent_at=now if status == MessageStatus.SENT else None,
    )
    if kind == MessageKind.NOTE:
        message_publish(message, "message.created")
        return message
    conversation.last_outbound_at = now
    conversation.last_message_at = max(now, conversation.last_message_at)
    conversation.last_message_preview = _preview(message)
    conversation.save(update_fields=["last_outbound_at", "last_message_at", "last_message_preview", "updated_at"])
    message_publish(message, "message.created", conversation)
    return message


# --------------------------------------------------------------------------- statuses
def status_apply(
    *,
    message: Message,
    status: str,
    at: datetime | None = None,
    error_code: str = "",
    error_message: str = "",
    also: tuple[str, ...] = (),
) -> bool:
    """Move an outbound message's status forward (never back); True when something changed.

    Call inside a transaction with the message row locked. Timestamps of skipped steps are still filled
    in (a `delivered` arriving after `read` records delivered_at but keeps `read`). `also` names fields the
    caller changed, written in the same UPDATE: a row updated twice in one transaction has its foreign keys
    checked again at COMMIT, a lock on the conversation taken after the seq row (DR-81).
    """
    at = at or timezone.now()
    changed = _fill_timestamp(message, status, at)
    current = message.status
    if status == MessageStatus.FAILED:
        if STATUS_RANK.get(current, 99) <= STATUS_RANK[MessageStatus.SENT]:
            message.status = MessageStatus.FAILED
            message.error_code = str(error_code or "unknown")[:32]
            message.error_message = (error_message or "")[:2000]
            message.failed_at = at
            changed = True
    elif status in STATUS_RANK and current in STATUS_RANK and STATUS_RANK[status] > STATUS_RANK[current]:
        message.status = status
        changed = True
    if changed:
        message.save(update_fields=[*STATUS_FIELDS, *also])
        message_publish(message)
    elif also:
        message.save(update_fields=list(also))
    return changed


STATUS_FIELDS = ("status", "error_code", "error_message", "sent_at", "delivered_at", "read_at", "failed_at")


def _fill_timestamp(message: Message, status: str, at: datetime) -> bool:
    field = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}.get(status)
    if field and getattr(message, field) is None:
        setattr(message, field, at)
        return True
    return False


def messages_mark_until(
    *, channel: Channel, recipient_conversation_ids: list[int], until: datetime, status: str = MessageStatus.READ
) -> int:
    """Messenger watermarks: every outbound message sent up to `until` is delivered (or read)."""
    count = 0
    behind = [s for s, rank in STATUS_RANK.items() if STATUS_RANK[MessageStatus.SENT] <= rank < STATUS_RANK[status]]
    ids = (
        Message.objects.filter(
            channel=channel,
            conversation_id__in=recipient_conversation_ids,
            direction=MessageDirection.OUTBOUND,
            created_at__lte=until,
            status__in=behind,
        )
        .exclude(kind=MessageKind.NOTE)
        .values_list("id", flat=True)
    )
    for message in Message.objects.select_for_update().filter(pk__in=list(ids[:1000])):
        count += status_apply(message=message, status=status, at=until)
    return count
