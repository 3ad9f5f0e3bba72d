"""Message-body retention and the privacy hooks (export, erase, merge) registered with contacts."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.conversations.models import Attachment, Conversation, Message, MessageKind

logger = logging.getLogger(__name__)


def _redact(message_ids: list[int]) -> int:
    now = timezone.now()
    for attachment in Attachment.objects.filter(message_id__in=message_ids).exclude(file=""):
        attachment.file.delete(save=False)
    Attachment.objects.filter(message_id__in=message_ids).update(
        file="", filename="", status="failed", error="removed by retention or erasure"
    )
    return Message.objects.filter(pk__in=message_ids).update(
        body="", attachments=[], template_params={}, metadata={}, redacted_at=now
    )


def messages_redact_expired(*, batch: int = 1000, max_batches: int = 50) -> int:
    """Blank bodies older than each merchant's `message_retention_days` (unset = keep forever)."""
    from apps.merchants.models import Merchant

    total = 0
    for merchant in Merchant.objects.filter(settings__has_key="message_retention_days").only("id", "settings"):
        days = merchant.setting("message_retention_days")
        if not isinstance(days, int) or days <= 0:
            continue
        cutoff = timezone.now() - timedelta(days=days)
        for _ in range(max_batches):
            ids = list(
                Message.objects.for_merchant(merchant)
                .filter(created_at__lt=cutoff, redacted_at__isnull=True)
                .order_by("created_at")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                break
            with transaction.atomic():
                total += _redact(ids)
    logger.info("conversations.retention_redacted", extra={"count": total})
    return total


# --------------------------------------------------------------------------- privacy hooks
def privacy_export(contact) -> list[dict]:
    conversations = Conversation.objects.filter(contact=contact).select_related("channel").order_by("id")
    messages_by_conversation: dict[int, list[dict]] = {}
    for message in Message.objects.filter(conversation__contact=contact).exclude(kind=MessageKind.NOTE).order_by("id"):
        messages_by_conversation.setdefault(message.conversation_id, []).append(
            {
                "direction": message.direction,
                "kind": message.kind,
                "body": message.body,
                "attachments": message.attachments,
                "status": message.status,
                "created_at": message.created_at.isoformat(),
            }
        )
    return [
        {
            "id": c.pk,
            "channel": c.channel.kind,
            "status": c.status,
            "created_at": c.created_at.isoformat(),
            "messages": messages_by_conversation.get(c.pk, []),
        }
        for c in conversations
    ]


def privacy_erase(contact) -> None:
    ids = list(Message.objects.filter(conversation__contact=contact).values_list("id", flat=True))
    with transaction.atomic():
        _redact(ids)
        Conversation.objects.filter(contact=contact).update(last_message_preview="")


def privacy_merge(*, source, target) -> None:
    """Move the source contact's conversations; if both have an unresolved one on a channel, resolve the
    source's first (one unresolved conversation per channel and contact)."""
    with transaction.atomic():
        target_open = set(
            Conversation.objects.filter(contact=target).exclude(status="resolved").values_list("channel_id", flat=True)
        )
        Conversation.objects.filter(contact=source, channel_id__in=target_open).exclude(status="resolved").update(
            status="resolved", resolved_at=timezone.now()
        )
        Conversation.objects.filter(contact=source).update(contact=target)
