"""/ws/campaigns/<id>/: live counts by state for members who may use campaigns.

The same resume protocol as every live socket: the first frame carries `last_seq`, live events arrive as
`{"type": "event", "seq", "kind", "payload"}`, and `{"type": "resume", "after_seq": n}` is answered with
what was missed, then `{"type": "resumed", "last_seq"}`. Progress is a snapshot, so "what was missed" is
only the latest progress event after n.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.http import Http404

from apps.campaigns import progress
from apps.campaigns.models import Campaign
from apps.conversations import events
from apps.conversations.consumers import LiveConsumer
from apps.conversations.relay import relay_ensure_started
from apps.core import inputs
from apps.core.roles import Capability, role_can
from apps.core.sockets import CLOSE_FORBIDDEN, MemberSocket
from apps.core.tenancy import access_object
from apps.merchants.selectors import membership_current


@database_sync_to_async
def _authorise(user, session, campaign_id: int) -> tuple[int, dict, int] | None:
    """(merchant id, first progress payload, last seq), or None when the user may not watch this campaign."""
    if not user or not user.is_authenticated:
        return None
    membership = membership_current(user=user, merchant_id=session.get("merchant_id") if session else None)
    if membership is None or not role_can(membership.role, CampaignProgressConsumer.capability):
        return None
    try:
        campaign = access_object(Campaign, merchant=membership.merchant_id, pk=campaign_id)
    except Http404:
        return None
    last = events.last_seq(merchant_id=membership.merchant_id)
    return membership.merchant_id, progress.progress_payload(campaign_id=campaign.pk), last


@database_sync_to_async
def _latest(*, merchant_id: int, topic: str, after_seq: int) -> dict | None:
    event = events.latest(merchant_id=merchant_id, topic=topic, after_seq=after_seq)
    return None if event is None else events.as_message(event)


class CampaignProgressConsumer(MemberSocket, LiveConsumer):
    """Closed like every member socket when the member's access to campaigns ends (apps.core.sockets)."""

    capability = Capability.CAMPAIGNS

    async def connect(self) -> None:
        self._init_seen()
        campaign_id = self.scope["url_route"]["kwargs"]["campaign_id"]
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.access_listen(user_id=user.pk)
        watched = await _authorise(user, self.scope.get("session"), campaign_id)
        if watched is None:
            await self.leave_all()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.merchant_id, payload, last = watched
        self.topic = progress.campaign_group(campaign_id)
        self.access_granted(merchant_id=self.merchant_id)
        await self.join(self.topic)
        await self.accept()
        relay_ensure_started()  # embedded mode: progress written by the worker reaches this socket
        await self.send_json({"type": "progress", "payload": payload, "last_seq": last})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") not in ("resume", "ping"):
            return await self.send_error("unknown_type", "Send resume or ping.")
        if content["type"] == "ping":
            return await self.send_json({"type": "pong"})
        after = inputs.ascii_int(content.get("after_seq"))
        if after is None:
            return await self.send_error("bad_request", "after_seq must be a non-negative integer.", field="after_seq")
        await self._resume(after)

    async def _resume(self, after: int) -> None:
        latest = await _latest(merchant_id=self.merchant_id, topic=self.topic, after_seq=after)
        if latest is not None:
            await self.emit_event(latest)
        await self.send_json({"type": "resumed", "last_seq": latest["seq"] if latest else after})
