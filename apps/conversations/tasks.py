"""Celery tasks: ids in, one service call, retry policy here. Every task is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

SEND_MAX_RETRIES = 6  # ~1, 2, 4, 8, 16, 32 s on top of the client's own quick retries
MEDIA_MAX_RETRIES = 5
STATUS_MATCH_RETRIES = 3


def _countdown(retries: int) -> int:
    return min(2**retries, 300)


@shared_task(bind=True, acks_late=True, max_retries=5)
def webhook_event_process_task(self, event_id: int) -> None:
    from apps.conversations.services.maintenance import webhook_event_run

    if webhook_event_run(event_id=event_id):
        raise self.retry(countdown=_countdown(self.request.retries))


@shared_task(bind=True, acks_late=True, max_retries=STATUS_MATCH_RETRIES)
def status_retry_task(self, channel_id: int, item: dict) -> None:
    """A status may overtake the commit of the send that produced its provider id; match it again later."""
    from apps.conversations.services.inbound import status_retry

    if not status_retry(channel_id=channel_id, item=item):
        if self.request.retries >= self.max_retries:
            logger.info("conversations.status_unmatched", extra={"provider_message_id": item.get("id")})
            return
        raise self.retry(countdown=5 * (self.request.retries + 1))


@shared_task(bind=True, acks_late=True, max_retries=SEND_MAX_RETRIES)
def message_deliver_task(self, message_id: int) -> str:
    from apps.conversations.services.delivery import DeliveryRetry, message_deliver

    try:
        return message_deliver(message_id=message_id, final_attempt=self.request.retries >= self.max_retries)
    except DeliveryRetry:
        raise self.retry(countdown=_countdown(self.request.retries)) from None


@shared_task(bind=True, acks_late=True, max_retries=MEDIA_MAX_RETRIES)
def attachment_fetch_task(self, attachment_id: int) -> str:
    from apps.conversations.services.media import MediaRetry, attachment_fetch

    try:
        return attachment_fetch(attachment_id=attachment_id, final_attempt=self.request.retries >= self.max_retries)
    except MediaRetry:
        raise self.retry(countdown=_countdown(self.request.retries + 2)) from None


@shared_task
def conversations_wake_snoozed_task() -> int:
    from apps.conversations.services.conversations import conversations_wake_snoozed

    return conversations_wake_snoozed()


@shared_task
def messages_redact_expired_task() -> int:
    from apps.conversations.services.retention import messages_redact_expired

    return messages_redact_expired()


@shared_task
def live_events_prune_task(days: int = 7) -> int:
    from apps.conversations.services.maintenance import live_events_prune

    return live_events_prune(days=days)


@shared_task
def webhook_events_prune_task(days: int = 30) -> int:
    from apps.conversations.services.maintenance import webhook_events_prune

    return webhook_events_prune(days=days)


@shared_task
def webhook_events_requeue_task() -> int:
    from apps.conversations.services.maintenance import webhook_events_requeue

    return webhook_events_requeue()


@shared_task
def messages_requeue_stuck_task() -> int:
    from apps.conversations.services.maintenance import messages_requeue_stuck

    return messages_requeue_stuck()
