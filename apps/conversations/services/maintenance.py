"""Housekeeping for the live event log and stored webhooks."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.conversations.models import LiveEvent, Message, MessageStatus, WebhookEvent, WebhookEventStatus


def live_events_prune(*, days: int = 7, batch: int = 5000) -> int:
    """Old events are only useful to clients offline for days; those reload the inbox instead."""
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        ids = list(LiveEvent.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:batch])
        if not ids:
            return total
        total += LiveEvent.objects.filter(id__in=ids).delete()[0]


def webhook_events_stale(*, older_than: timedelta = timedelta(minutes=5), limit: int = 500) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(
        WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED, received_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def webhook_events_prune(*, days: int = 30, batch: int = 5000) -> int:
    """Processed raw webhooks are kept a month for audits and replays, then dropped."""
    cutoff = timezone.now() - timedelta(days=days)
    done = (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED)
    total = 0
    while True:
        ids = list(
            WebhookEvent.objects.filter(status__in=done, received_at__lt=cutoff).values_list("id", flat=True)[:batch]
        )
        if not ids:
            return total
        total += WebhookEvent.objects.filter(id__in=ids).delete()[0]


def messages_stuck_queued(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Outbound messages still queued long after they were stored (their task was lost); delivery is
    idempotent, so queuing them again is safe."""
    cutoff = timezone.now() - older_than
    return list(
        Message.objects.filter(status=MessageStatus.QUEUED, created_at__lt=cutoff, provider_message_id="")
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
