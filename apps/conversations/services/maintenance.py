"""Housekeeping for the live event log and stored webhooks."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.conversations.models import Channel, LiveEvent, Message, MessageStatus, WebhookEvent, WebhookEventStatus
from apps.conversations.services.inbound import webhook_events_apply
from apps.core.enqueue import enqueue_on_commit

STATUS_RETRY_DELAY = 5  # seconds: the send that produced the provider id has usually committed by then


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


def webhook_events_process_again(*, event_ids: list[int]) -> int:
    """Queue stored webhooks for processing again (processing is idempotent); how many were queued. They are
    marked waiting first: a run skips an event already done."""
    WebhookEvent.objects.filter(pk__in=event_ids).update(status=WebhookEventStatus.RECEIVED, processed_at=None)
    for event_id in event_ids:
        enqueue_on_commit("apps.conversations.tasks.webhook_event_process_task", event_id)
    return len(event_ids)


def webhook_events_requeue() -> int:
    """Events stored but never processed (worker down, broker lost the message) are queued again."""
    return webhook_events_process_again(event_ids=webhook_events_stale())


def messages_requeue_stuck() -> int:
    ids = messages_stuck_queued()
    for message_id in ids:
        enqueue_on_commit("apps.conversations.tasks.message_deliver_task", message_id)
    return len(ids)


# Events one task applies together when the queue is deep (their own tasks then find them done: one query).
RUN_BATCH = 50
CLAIM_LEASE = timedelta(minutes=5)


def webhook_event_run(*, event_id: int) -> bool:
    """Process one stored webhook, with up to RUN_BATCH - 1 others still waiting, and queue what they leave
    for later; True when this task's own event must be run again.

    A status that overtook the commit of its send is matched again in a few seconds. Only transient
    failures ask for a run again: a deterministic one (result.rejected) is already recorded on the
    event as failed, and running it again would fail the same way. A waiting event that failed transiently
    here is queued again on its own. No transaction spans the run: each batch and item commits on its own,
    so the merchant's live-event seq row is never held across items (DR-81).
    """
    events = webhook_events_claim(event_id=event_id)
    results = webhook_events_apply(events=events)
    for event in events:
        _follow_up(event, results[event.pk], own=event.pk == event_id)
    own = results.get(event_id)
    return bool(own and own.errors)


def webhook_events_claim(*, event_id: int, limit: int = RUN_BATCH) -> list[WebhookEvent]:
    """The event (unless done, or taken by a run in progress) and the oldest other events still waiting.

    A waiting event's `processed_at` is its lease: set when a run takes it, so a concurrent run takes others;
    a lease older than CLAIM_LEASE (a worker that died) is free again. The run of an event an earlier run's
    batch applied costs one query.
    """
    now = timezone.now()
    free = Q(processed_at__isnull=True) | Q(processed_at__lt=now - CLAIM_LEASE)
    received = Q(status=WebhookEventStatus.RECEIVED) & free
    mine = WebhookEvent.objects.filter(received | Q(status=WebhookEventStatus.FAILED), pk=event_id)
    if not mine.exists():
        return []
    rows = WebhookEvent.objects.select_for_update(skip_locked=True)
    with transaction.atomic():
        ids = list(mine.select_for_update(skip_locked=True).values_list("id", flat=True))
        others = rows.filter(received).exclude(pk=event_id).order_by("id").values_list("id", flat=True)
        ids += list(others[: limit - len(ids)]) if ids else []
        WebhookEvent.objects.filter(pk__in=ids).update(processed_at=now)
    events = list(WebhookEvent.objects.filter(pk__in=ids).order_by("id"))
    # One Channel per channel, not per event: its secrets are decrypted as it loads.
    channels = Channel.objects.select_related("merchant").in_bulk({event.channel_id for event in events})
    for event in events:
        event.channel = channels[event.channel_id]
    return events


def _follow_up(event: WebhookEvent, result, *, own: bool) -> None:
    for item in result.unmatched_statuses:
        enqueue_on_commit(
            "apps.conversations.tasks.status_retry_task", event.channel_id, item, countdown=STATUS_RETRY_DELAY
        )
    if result.errors and not own:
        enqueue_on_commit("apps.conversations.tasks.webhook_event_process_task", event.pk, countdown=STATUS_RETRY_DELAY)
