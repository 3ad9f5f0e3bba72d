"""Helpers for socket tests: sessions for agents, widget visitors, communicators through the real ASGI app."""

from __future__ import annotations

import os
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from apps.contacts.services import contact_resolve_identity
from apps.conversations import widget
from apps.conversations.models import ChannelKind
from tests.factories.conversations import ChannelFactory

ORIGIN = "https://shop.example"
TIMEOUT = 3


@pytest.fixture
def redis_layer(settings):
    """The production channel layer (Redis pub/sub) on this helper's Redis db, under a test prefix."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: tests using redis_layer need Redis")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"test-{uuid.uuid4().hex[:8]}"},
        }
    }
    return settings.CHANNEL_LAYERS


def webchat_channel(merchant, **kwargs):
    kwargs.setdefault("allowed_origins", [ORIGIN])
    return ChannelFactory(
        merchant=merchant, kind=ChannelKind.WEBCHAT, access_token="", app_secret="", verify_token="", **kwargs
    )


def session_cookie(user, merchant_id: int | None = None) -> str:
    client = Client()
    client.force_login(user)
    if merchant_id:
        session = client.session
        session["merchant_id"] = merchant_id
        session.save()
    return client.cookies["sessionid"].value


def visitor(channel) -> tuple[str, str]:
    """(visitor id, token) for a new widget visitor of this channel."""
    visitor_id = widget.visitor_id_new()
    return visitor_id, widget.visitor_token_make(channel_id=channel.pk, visitor_id=visitor_id)


def visitor_contact(channel, visitor_id: str):
    return contact_resolve_identity(merchant=channel.merchant, kind="webchat", external_id=visitor_id)


async def agent_socket(user, merchant_id: int | None = None, origin: str = "http://testserver", connect=True):
    from portal.asgi import application

    headers = [(b"origin", origin.encode())]
    if user is not None:
        key = await sync_to_async(session_cookie)(user, merchant_id)
        headers.append((b"cookie", f"sessionid={key}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
    if not connect:
        return communicator
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def widget_socket(channel, origin: str = ORIGIN, public_key: str | None = None):
    from portal.asgi import application

    path = f"/ws/widget/{public_key or channel.public_key}/"
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin.encode())])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def expect_close(communicator, code: int) -> None:
    output = await communicator.receive_output(timeout=TIMEOUT)
    while output["type"] == "websocket.send":  # an error frame may precede the close
        output = await communicator.receive_output(timeout=TIMEOUT)
    assert output == {"type": "websocket.close", "code": code}


async def receive(communicator, *, type_: str | None = None, skip: tuple[str, ...] = ()) -> dict:
    """The next JSON frame, skipping frame types named in `skip`."""
    while True:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message.get("type") in skip:
            continue
        if type_ is not None:
            assert message.get("type") == type_, message
        return message


async def events_until_resumed(communicator) -> list[dict]:
    out = []
    while True:
        message = await communicator.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "resumed":
            return out
        assert message["type"] == "event", message
        out.append(message)


async def widget_auth(communicator, token: str, after_seq: int | None = None) -> dict:
    payload = {"type": "auth", "token": token}
    if after_seq is not None:
        payload["after_seq"] = after_seq
    await communicator.send_json_to(payload)
    return await receive(communicator, type_="ready")


async def drain(communicator, quiet: float = 0.3) -> list[dict]:
    """Every frame that arrives until the socket has been quiet for `quiet` seconds."""
    out = []
    while not await communicator.receive_nothing(timeout=quiet):
        out.append(await communicator.receive_json_from(timeout=TIMEOUT))
    return out
