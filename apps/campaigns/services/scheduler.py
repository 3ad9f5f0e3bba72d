"""What beat and the sender chains decide: which campaigns start, which stalled ones are revived, and
whether a chain goes on. Tasks are started by name through `enqueue_on_commit` (services never import
`tasks`); outside a transaction that is at once, as `delay` was."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from apps.campaigns import conf
from apps.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from apps.campaigns.services.completion import campaign_complete_if_done
from apps.campaigns.services.reaper import chain_follow_up, deliveries_reap
from apps.campaigns.services.send_loop import batch_loop, campaign_heartbeat
from apps.core.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)


def campaign_dispatch(*, campaign_id: int) -> None:
    """Start the batch chains of a running campaign (each chain re-enqueues itself while work is due)."""
    campaign_heartbeat(campaign_id=campaign_id)
    for _ in range(conf.senders()):
        enqueue_on_commit("apps.campaigns.tasks.campaign_send_batch", campaign_id)


def campaign_send_chain(*, campaign_id: int) -> None:
    """Up to ~20 s of batches, then hand over to a successor; with nothing due, the follow-up decides."""
    if batch_loop(campaign_id=campaign_id):
        enqueue_on_commit("apps.campaigns.tasks.campaign_send_batch", campaign_id)
    else:
        chain_follow_up(campaign_id=campaign_id)


def campaigns_tick(*, now: datetime | None = None) -> None:
    """Every few seconds: start due campaigns, reap expired claims, revive stalled builds and senders,
    complete."""
    now = now or timezone.now()
    for campaign_id in _due_ids(now):
        enqueue_on_commit("apps.campaigns.tasks.campaign_start", campaign_id)
    deliveries_reap(now=now)
    stale = now - timedelta(seconds=conf.heartbeat_stale_seconds())
    running = Campaign.objects.filter(status=CampaignStatus.RUNNING).only("pk", "heartbeat_at", "ledger_built_at")
    for campaign in running:
        _revive_if_stalled(campaign, stalled=campaign.heartbeat_at is None or campaign.heartbeat_at < stale, now=now)


def _due_ids(now: datetime) -> list[int]:
    scheduled = Campaign.objects.filter(status=CampaignStatus.SCHEDULED)
    due = scheduled.filter(scheduled_at__lte=now).values_list("pk", flat=True)
    return [*due, *scheduled.filter(scheduled_at__isnull=True).values_list("pk", flat=True)]


def _revive_if_stalled(campaign: Campaign, *, stalled: bool, now: datetime) -> None:
    if campaign.ledger_built_at is None:
        if stalled:  # the worker building it was lost; the build resumes where it stopped
            logger.info("campaigns.resume_build", extra={"campaign_id": campaign.pk})
            enqueue_on_commit("apps.campaigns.tasks.campaign_ledger_complete", campaign.pk)
        return
    if campaign_complete_if_done(campaign_id=campaign.pk):
        return
    if stalled and _work_due(campaign, now).first() is not None:
        logger.info("campaigns.revive", extra={"campaign_id": campaign.pk})
        enqueue_on_commit("apps.campaigns.tasks.campaign_dispatch", campaign.pk)


def _work_due(campaign: Campaign, now: datetime) -> QuerySet:
    # Ordered like the claimable index, so the planner walks it rather than scanning for other campaigns' rows.
    return (
        Delivery.objects.filter(campaign=campaign, state=DeliveryState.PENDING, not_before__lte=now)
        .order_by("not_before", "id")
        .values_list("pk", flat=True)
    )
