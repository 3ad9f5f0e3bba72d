"""The Graph API client for a `Channel`: reads the channel's ids and token, hands plain values to apps.meta."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.conf import settings

from apps.conversations.models import Channel
from apps.meta import errors
from apps.meta.client import GraphClient, MessengerClient, WhatsAppClient
from apps.meta.errors import GraphError

logger = logging.getLogger(__name__)


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


# A person waits on the Settings page's check: one attempt, a few seconds at most.
CHECK_TIMEOUT = 5.0


@dataclass(frozen=True)
class ConnectionCheck:
    """What Meta says about a channel's sender: its details when the ids and token work, else why not."""

    ok: bool
    details: dict[str, str]
    error: str = ""


def connection_check(channel: Channel) -> ConnectionCheck:
    """Ask Meta who the channel sends as, with its own token (GET /{phone_number_id} or /{page_id})."""
    try:
        details = get_client(channel, attempts=1, backoff=0).sender_info(timeout=CHECK_TIMEOUT)
    except GraphError as exc:
        logger.info("channel.check_failed", extra={"channel_id": channel.pk, "code": exc.code})
        return ConnectionCheck(ok=False, details={}, error=errors.plain_words(exc))
    return ConnectionCheck(ok=True, details=details)
