"""/ws/campaigns/<id>/: live counts by state for members who may use campaigns."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import Http404

from apps.campaigns import events
from apps.campaigns.models import Campaign
from apps.core.roles import Capability
from apps.core.sockets import CLOSE_FORBIDDEN, MemberSocket
from apps.core.tenancy import access_object


@database_sync_to_async
def _first_progress(*, merchant_id: int, campaign_id: int) -> dict | None:
    """The campaign's first progress payload, or None when it is not this merchant's."""
    try:
        campaign = access_object(Campaign, merchant=merchant_id, pk=campaign_id)
    except Http404:
        return None
    return events.progress_payload(campaign_id=campaign.pk)


class CampaignProgressConsumer(MemberSocket):
    """Closed like every member socket when the member's access to campaigns ends (apps.core.sockets)."""

    capability = Capability.CAMPAIGNS
    accept_before_refusing = False

    async def connect(self) -> None:
        campaign_id = self.scope["url_route"]["kwargs"]["campaign_id"]
        if not await self.member_connect():
            return
        payload = await _first_progress(merchant_id=self.merchant_id, campaign_id=campaign_id)
        if payload is None:
            return await self.refuse(CLOSE_FORBIDDEN)
        await self.join(events.campaign_group(campaign_id))
        await self.accept()
        await self.send_json({"type": "progress", "payload": payload})

    async def campaign_progress(self, event: dict) -> None:
        await self.send_json({"type": "progress", "payload": event["payload"]})
