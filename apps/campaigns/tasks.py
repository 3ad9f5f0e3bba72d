"""Celery tasks: ids in, one service call each. Batches, never one task per recipient."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from apps.campaigns import conf
from apps.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def campaign_start(campaign_id: int) -> None:
    from apps.campaigns.services import campaign_start as start

    start(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def campaign_ledger_complete(campaign_id: int) -> None:
    """Finish a ledger build a lost worker left half done."""
    from apps.campaigns.services import campaign_ledger_complete as complete

    complete(campaign_id=campaign_id)


@shared_task(ignore_result=True)
def campaign_dispatch(campaign_id: int) -> None:
    """Start the batch chains of a running campaign (each chain re-enqueues itself while work is due)."""
    Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
    for _ in range(conf.senders()):
        campaign_send_batch.delay(campaign_id)


@shared_task(ignore_result=True, acks_late=True)
def campaign_send_batch(campaign_id: int) -> None:
    """Up to ~20 s of batches (the next claimed while the current one sends), then hands over.

    Safe to run twice at once (a redelivery): every claim is its own. With nothing due, the chain
    completes the campaign, or comes back when the next retry or lease falls due, beat or no beat.
    """
    from apps.campaigns.selectors import campaign_next_work_at
    from apps.campaigns.services import campaign_complete_if_done
    from apps.campaigns.services.sending import batch_loop

    if batch_loop(campaign_id=campaign_id):
        campaign_send_batch.delay(campaign_id)
    elif not campaign_complete_if_done(campaign_id=campaign_id):
        due = campaign_next_work_at(campaign_id=campaign_id)
        wait = (due - timezone.now()).total_seconds() if due else None
        if wait is not None and wait <= conf.follow_up_horizon_seconds():
            campaign_send_batch.apply_async((campaign_id,), countdown=max(0.5, wait + 0.5))


@shared_task(ignore_result=True)
def campaigns_tick() -> None:
    """Every few seconds: start due campaigns, reap expired claims, revive stalled builds and senders,
    complete."""
    from apps.campaigns.services import campaign_complete_if_done, deliveries_reap

    now = timezone.now()
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now).values_list("pk", flat=True)
    unscheduled = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__isnull=True)
    for campaign_id in [*due, *unscheduled.values_list("pk", flat=True)]:
        campaign_start.delay(campaign_id)
    deliveries_reap(now=now)
    stale = now - timezone.timedelta(seconds=conf.heartbeat_stale_seconds())
    running = Campaign.objects.filter(status=CampaignStatus.RUNNING).only("pk", "heartbeat_at", "ledger_built_at")
    for campaign in running:
        stalled = campaign.heartbeat_at is None or campaign.heartbeat_at < stale
        if campaign.ledger_built_at is None:
            if stalled:  # the worker building it was lost; the build resumes where it stopped
                logger.info("campaigns.resume_build", extra={"campaign_id": campaign.pk})
                campaign_ledger_complete.delay(campaign.pk)
            continue
        if campaign_complete_if_done(campaign_id=campaign.pk):
            continue
        # Ordered like the claimable index, so the planner walks it rather than scanning for other campaigns' rows.
        work_due = (
            Delivery.objects.filter(campaign=campaign, state=DeliveryState.PENDING, not_before__lte=now)
            .order_by("not_before", "id")
            .values_list("pk", flat=True)
        )
        if stalled and work_due.first() is not None:
            logger.info("campaigns.revive", extra={"campaign_id": campaign.pk})
            campaign_dispatch.delay(campaign.pk)
