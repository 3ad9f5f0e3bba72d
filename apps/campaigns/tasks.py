"""Celery tasks: ids in, one service call each. Batches, never one task per recipient."""

from __future__ import annotations

from celery import shared_task

from apps.campaigns import services


@shared_task(ignore_result=True)
def campaign_start(campaign_id: int) -> None:
    services.campaign_start(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def campaign_ledger_complete(campaign_id: int) -> None:
    """Finish a ledger build a lost worker left half done."""
    services.campaign_ledger_complete(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def campaign_dispatch(campaign_id: int) -> None:
    services.campaign_dispatch(campaign_id=campaign_id)


@shared_task(ignore_result=True, acks_late=True)
def campaign_send_batch(campaign_id: int) -> None:
    """Safe to run twice at once (a redelivery): every claim is its own."""
    services.campaign_send_chain(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def campaigns_tick() -> None:
    services.campaigns_tick()
