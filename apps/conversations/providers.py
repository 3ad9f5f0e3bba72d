"""The Graph API client for a `Channel`: reads the channel's ids and token, hands plain values to apps.meta.

`graph_base_url` is the one place that decides where a channel's Graph requests go: Meta for every real
channel, the built-in sandbox (apps/sandbox) for a channel flagged `settings["sandbox"] = True` while the
sandbox is switched on. A flagged channel with the sandbox off is refused, never sent to Meta.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.conf import settings

from apps.conversations.models import Channel
from apps.meta import errors
from apps.meta.client import GraphClient, MessengerClient, WhatsAppClient
from apps.meta.errors import FAIL, GraphError

logger = logging.getLogger(__name__)

SANDBOX_OFF = "sandbox_off"
SANDBOX_OFF_MESSAGE = "This is a sandbox channel and the sandbox is switched off (CHARLA_SANDBOX): nothing was sent."


class SandboxOff(GraphError):
    """A sandbox-flagged channel asked for its Graph URL while the sandbox is off. A GraphError that is never
    retried, so every caller that handles a refused request (media, profile lookups) handles this one too;
    the senders check `sandbox_refused` first to record the `sandbox_off` code."""

    def __init__(self) -> None:
        super().__init__(None, 0, SANDBOX_OFF_MESSAGE, FAIL)


def sandbox_refused(channel: Channel) -> bool:
    """True when sending on this channel must be refused: it is a sandbox channel and the sandbox is off."""
    return channel.is_sandbox and not settings.CHARLA_SANDBOX


def graph_base_url(channel: Channel) -> str:
    """Where this channel's Graph requests go (inbox sends, uploads, lookups, campaign batches)."""
    if not channel.is_sandbox:
        return settings.META_GRAPH_API_URL
    if not settings.CHARLA_SANDBOX:
        raise SandboxOff()
    return settings.CHARLA_SANDBOX_GRAPH_URL


def get_client(
    channel: Channel, *, attempts: int | None = None, backoff: float | None = None, http: httpx.Client | None = None
) -> GraphClient:
    """`attempts`, `backoff`: the conversations settings unless given (tests); `http`: a client to borrow."""
    common = {
        "access_token": channel.access_token,
        "base_url": graph_base_url(channel),
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
