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
from apps.core.roles import Capability
from apps.core.sockets import CLOSE_FORBIDDEN, MemberSocket
from apps.core.tenancy import access_object


@database_sync_to_async
def _first_progress(*, merchant_id: int, campaign_id: int) -> tuple[dict, int] | None:
    """The campaign's first progress payload and the merchant's last seq, or None when it is not this
    merchant's."""
    try:
        campaign = access_object(Campaign, merchant=merchant_id, pk=campaign_id)
    except Http404:
        return None
    return progress.progress_payload(campaign_id=campaign.pk), events.last_seq(merchant_id=merchant_id)


@database_sync_to_async
def _latest(*, merchant_id: int, topic: str, after_seq: int) -> dict | None:
    event = events.latest(merchant_id=merchant_id, topic=topic, after_seq=after_seq)
    return None if event is None else events.as_message(event)


class CampaignProgressConsumer(MemberSocket, LiveConsumer):
    """Closed like every member socket when the member's access to campaigns ends (apps.core.sockets)."""

    capability = Capability.CAMPAIGNS
    accept_before_refusing = False

    async def connect(self) -> None:
        self._init_seen()
        campaign_id = self.scope["url_route"]["kwargs"]["campaign_id"]
        if not await self.member_connect():
            return
        watched = await _first_progress(merchant_id=self.merchant_id, campaign_id=campaign_id)
        if watched is None:
            return await self.refuse(CLOSE_FORBIDDEN)
        payload, last = watched
        self.topic = progress.campaign_group(campaign_id)
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
