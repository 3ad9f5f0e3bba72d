"""Message-body retention: bodies and files older than the merchant's setting are blanked."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.conversations.models import Attachment, Message

logger = logging.getLogger(__name__)


def messages_redact(message_ids: list[int]) -> int:
    """Blank bodies, payload JSON and files of these messages (retention and erasure)."""
    now = timezone.now()
    files = [a.file for a in Attachment.objects.filter(message_id__in=message_ids).exclude(file="")]
    # After commit: a rolled-back erasure must not have deleted the files its rows still point to.
    transaction.on_commit(lambda: [file.storage.delete(file.name) for file in files])
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
                total += messages_redact(ids)
    logger.info("conversations.retention_redacted", extra={"count": total})
    return total
