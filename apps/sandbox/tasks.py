"""Celery tasks of the sandbox: ids and plain values in, one service call. Safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.sandbox import services


@shared_task(acks_late=True)
def sandbox_message_record(channel_id: int, address: str, kind: str, payload: dict, message_id: str) -> None:
    services.sandbox_message_record(
        channel_id=channel_id, address=address, kind=kind, payload=payload, message_id=message_id
    )


@shared_task(bind=True, acks_late=True, max_retries=3)
def sandbox_status_deliver(self, message_id: str, status: str) -> None:
    try:
        services.sandbox_status_deliver(message_id=message_id, status=status)
    except services.WebhookRefused as exc:
        raise self.retry(countdown=2, exc=exc) from exc
