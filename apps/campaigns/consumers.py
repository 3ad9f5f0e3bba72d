"""/ws/campaigns/<id>/: live counts by state for members who may use campaigns."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.http import Http404

from apps.campaigns import events
from apps.campaigns.models import Campaign
from apps.core.roles import Capability, role_can
from apps.core.sockets import CLOSE_FORBIDDEN, MemberSocket
from apps.core.tenancy import access_object
from apps.merchants.selectors import membership_current


@database_sync_to_async
def _authorise(user, session, campaign_id: int) -> tuple[int, dict] | None:
    """(merchant id, first progress payload), or None when the user may not watch this campaign."""
    if not user or not user.is_authenticated:
        return None
    membership = membership_current(user=user, merchant_id=session.get("merchant_id") if session else None)
    if membership is None or not role_can(membership.role, CampaignProgressConsumer.capability):
        return None
    try:
        campaign = access_object(Campaign, merchant=membership.merchant_id, pk=campaign_id)
    except Http404:
        return None
    return membership.merchant_id, events.progress_payload(campaign_id=campaign.pk)


class CampaignProgressConsumer(MemberSocket):
    """Closed like every member socket when the member's access to campaigns ends (apps.core.sockets)."""

    capability = Capability.CAMPAIGNS

    async def connect(self) -> None:
        campaign_id = self.scope["url_route"]["kwargs"]["campaign_id"]
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.access_listen(user_id=user.pk)
        watched = await _authorise(user, self.scope.get("session"), campaign_id)
        if watched is None:
            await self.leave_all()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        merchant_id, payload = watched
        self.access_granted(merchant_id=merchant_id)
        await self.join(events.campaign_group(campaign_id))
        await self.accept()
        await self.send_json({"type": "progress", "payload": payload})

    async def campaign_progress(self, event: dict) -> None:
        await self.send_json({"type": "progress", "payload": event["payload"]})
