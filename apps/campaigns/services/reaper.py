"""Expired claims settle here, and a sender chain with nothing due decides when to come back."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from apps.campaigns import conf
from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.selectors import campaign_next_work_at
from apps.campaigns.services.completion import campaign_complete_if_done
from apps.core.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)


def deliveries_reap(*, now: datetime | None = None, campaign_id: int | None = None) -> dict[str, int]:
    """Expired claims: never dispatched -> pending again; dispatched -> unknown (never resent blindly).

    Safe from anywhere, any number of times, next to live senders: a stamp needs an unexpired lease and
    this needs an expired one, each is one conditional statement, and the row lock orders them, so a
    row goes back to `pending` only if nobody can still stamp it, and a stamped row never does.
    """
    now = now or timezone.now()
    expired = Delivery.objects.filter(state=DeliveryState.CLAIMED, lease_expires_at__lt=now)
    if campaign_id is not None:
        expired = expired.filter(campaign_id=campaign_id)
    back = expired.filter(dispatched_at__isnull=True).update(
        state=DeliveryState.PENDING, claim_token="", lease_expires_at=None, attempted_at=None, not_before=timezone.now()
    )
    unknown = expired.filter(dispatched_at__isnull=False).update(
        state=DeliveryState.UNKNOWN, lease_expires_at=None, error_code="lease_expired"
    )
    if back or unknown:
        logger.warning("campaigns.reaped", extra={"pending_again": back, "unknown": unknown})
    return {"pending": back, "unknown": unknown}


def chain_follow_up(*, campaign_id: int) -> None:
    """Nothing was due: complete the campaign, or come back when the next retry or lease falls due
    (within the follow-up horizon; past it the tick revives the campaign), beat or no beat."""
    if campaign_complete_if_done(campaign_id=campaign_id):
        return
    due = campaign_next_work_at(campaign_id=campaign_id)
    wait = (due - timezone.now()).total_seconds() if due else None
    if wait is not None and wait <= conf.follow_up_horizon_seconds():
        enqueue_on_commit("apps.campaigns.tasks.campaign_send_batch", campaign_id, countdown=max(0.5, wait + 0.5))
