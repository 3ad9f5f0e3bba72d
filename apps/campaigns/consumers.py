"""/ws/campaigns/<id>/: live counts by state for members who may use campaigns."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from apps.campaigns import events
from apps.campaigns.models import Campaign
from apps.core.roles import Capability, role_can
from apps.core.tenancy import access_object
from apps.merchants.selectors import membership_current


@database_sync_to_async
def _authorise(user, session, campaign_id: int) -> dict | None:
    """The first progress payload, or None when the user may not watch this campaign."""
    if not user or not user.is_authenticated:
        return None
    membership = membership_current(user=user, merchant_id=session.get("merchant_id") if session else None)
    if membership is None or not role_can(membership.role, Capability.CAMPAIGNS):
        return None
    try:
        campaign = access_object(Campaign, merchant=membership.merchant_id, pk=campaign_id)
    except Http404:
        return None
    return events.progress_payload(campaign_id=campaign.pk)


class CampaignProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        campaign_id = self.scope["url_route"]["kwargs"]["campaign_id"]
        payload = await _authorise(self.scope.get("user"), self.scope.get("session"), campaign_id)
        if payload is None:
            await self.close(code=4403)
            return
        self.group = events.campaign_group(campaign_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "progress", "payload": payload})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def campaign_progress(self, event: dict) -> None:
        await self.send_json({"type": "progress", "payload": event["payload"]})
