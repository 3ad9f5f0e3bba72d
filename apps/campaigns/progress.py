"""Live progress of a campaign: counts by state, published on the live event log at most once a second.

Progress is one more kind of event in `apps.conversations.events` (stored with the merchant's seq, topic
`campaign-<id>`), so it reaches sockets the way chat does: broadcast after commit, relayed to this
process's sockets in the embedded mode, and caught up by seq when a socket reconnects.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from apps.campaigns.models import Campaign
from apps.campaigns.selectors import campaign_stats
from apps.conversations import events

logger = logging.getLogger(__name__)

KIND = "campaign.progress"


def campaign_group(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def progress_payload(*, campaign_id: int) -> dict | None:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    return None if campaign is None else _payload(campaign)


def _payload(campaign: Campaign) -> dict:
    return {
        "campaign_id": campaign.pk,
        "status": campaign.status,
        "status_label": campaign.get_status_display(),  # the page shows the label, as the server renders it
        **campaign_stats(campaign=campaign),
    }


def progress_broadcast(*, campaign_id: int, force: bool = False) -> None:
    """Called after commit. Throttled with a cache key so 2,000 sends a second cost one stats query."""
    if not force and not cache.add(f"campaigns:progress:{campaign_id}", 1, timeout=1):
        return
    try:
        _publish(campaign_id)
    except Exception:  # progress is cosmetic: a broken database or layer must not fail a send batch
        logger.exception("campaigns.progress_broadcast_failed", extra={"campaign_id": campaign_id})


def _publish(campaign_id: int) -> None:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is not None:
        topic = campaign_group(campaign_id)
        events.publish(merchant_id=campaign.merchant_id, kind=KIND, payload=_payload(campaign), topic=topic)
