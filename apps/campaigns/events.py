"""Live progress of a campaign: counts by state, pushed to `campaign-<id>` at most once a second."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "campaign.progress"


def campaign_group(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def progress_payload(*, campaign_id: int) -> dict | None:
    from apps.campaigns.models import Campaign
    from apps.campaigns.selectors import campaign_stats

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return None
    return {
        "campaign_id": campaign_id,
        "status": campaign.status,
        "status_label": campaign.get_status_display(),  # the page shows the label, as the server renders it
        **campaign_stats(campaign=campaign),
    }


def progress_broadcast(*, campaign_id: int, force: bool = False) -> None:
    """Called after commit. Throttled with a cache key so 2,000 sends a second cost one stats query."""
    if not force and not cache.add(f"campaigns:progress:{campaign_id}", 1, timeout=1):
        return
    try:
        payload = progress_payload(campaign_id=campaign_id)
        layer = get_channel_layer()
        if payload is not None and layer is not None:
            async_to_sync(layer.group_send)(campaign_group(campaign_id), {"type": MESSAGE_TYPE, "payload": payload})
    except Exception:  # progress is cosmetic: a broken channel layer must not fail a send batch
        logger.exception("campaigns.progress_broadcast_failed", extra={"campaign_id": campaign_id})
