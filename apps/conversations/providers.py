"""The Graph API client for a `Channel`: reads the channel's ids and token, hands plain values to apps.meta."""

from __future__ import annotations

import httpx
from django.conf import settings

from apps.conversations.models import Channel
from apps.meta.client import GraphClient, MessengerClient, WhatsAppClient


def get_client(
    channel: Channel, *, attempts: int | None = None, backoff: float | None = None, http: httpx.Client | None = None
) -> GraphClient:
    """`attempts`, `backoff`: the conversations settings unless given (tests); `http`: a client to borrow."""
    common = {
        "access_token": channel.access_token,
        "base_url": settings.META_GRAPH_API_URL,
        "attempts": attempts or settings.CONVERSATIONS_SEND_ATTEMPTS,
        "backoff": settings.CONVERSATIONS_SEND_BACKOFF if backoff is None else backoff,
        "http": http,
        "log_extra": {"channel_id": channel.pk},
    }
    if channel.kind == "whatsapp":
        return WhatsAppClient(phone_number_id=channel.phone_number_id, **common)
    if channel.kind == "messenger":
        return MessengerClient(page_id=channel.page_id, **common)
    raise ValueError(f"no provider client for {channel.kind} channels (web chat is delivered over the socket)")
