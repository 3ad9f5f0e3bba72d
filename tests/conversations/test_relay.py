"""Embedded mode: events written by another process (the Celery worker) reach sockets through the relay."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.conversations import events, relay, services
from tests.conversations.live_support import (
    agent_socket,
    drain,
    receive,
    redis_layer,  # noqa: F401 - fixture
    visitor,
    visitor_contact,
    webchat_channel,
    widget_auth,
    widget_socket,
)
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def inbound_elsewhere(conversation, text: str):
    """message_receive as the worker runs it: rows committed, but its broadcast reaches no socket here."""
    with mock.patch.object(events, "broadcast"):
        return services.message_receive(
            channel=conversation.channel,
            contact=conversation.contact,
            provider_message_id=f"wamid.{uuid.uuid4().hex}",
            kind="text",
            body=text,
            attachments=[],
            received_at=timezone.now(),
            visitor_id=conversation.visitor_id,
        )


@pytest.fixture
async def stop_relay():
    yield
    await relay.relay_stop()


@pytest.mark.usefixtures("stop_relay")  # on the in-memory layer (tests/conftest.py)
async def test_relay_carries_other_processes_events_to_agents_and_the_widget(agent_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    visitor_id, token = visitor(channel)
    contact = await sync_to_async(visitor_contact)(channel, visitor_id)
    conversation = await sync_to_async(ConversationFactory)(
        merchant=agent_membership.merchant, channel=channel, contact=contact, identity=False
    )
    agent = await agent_socket(agent_membership.user, agent_membership.merchant_id)
    await receive(agent, type_="hello")
    assert relay.relay_running()
    customer = await widget_socket(channel)
    await widget_auth(customer, token)

    def reply_elsewhere():
        with mock.patch.object(events, "broadcast"):
            return services.message_send(conversation=conversation, author=agent_membership.user, text="from worker")

    message = await sync_to_async(inbound_elsewhere)(conversation, "from the webhook worker")
    reply = await sync_to_async(reply_elsewhere)()
    got = await drain(agent, quiet=1.5)
    bodies = [e["payload"]["body"] for e in got if e["kind"] == "message.created"]
    assert bodies == ["from the webhook worker", "from worker"]
    assert [e["seq"] for e in got] == sorted({e["seq"] for e in got})  # in order, each once
    widget_events = await drain(customer, quiet=0.5)
    assert [(e["message"]["id"], e["message"]["body"]) for e in widget_events] == [
        (message.pk, "from the webhook worker"),
        (reply.pk, "from worker"),
    ]
    await agent.disconnect()
    await customer.disconnect()


@pytest.mark.usefixtures("stop_relay")  # on the in-memory layer (tests/conftest.py)
async def test_an_event_published_in_this_process_reaches_each_socket_once(agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    agent = await agent_socket(agent_membership.user, agent_membership.merchant_id)
    await receive(agent, type_="hello")

    def inbound_here():  # broadcast directly AND seen by the relay's poll
        return services.message_receive(
            channel=conversation.channel,
            contact=conversation.contact,
            provider_message_id=f"wamid.{uuid.uuid4().hex}",
            kind="text",
            body="twice?",
            attachments=[],
            received_at=timezone.now(),
        )

    await sync_to_async(inbound_here)()
    got = await drain(agent, quiet=1.5)
    seqs = [e["seq"] for e in got]
    # One event per inbound message (the conversation summary rides along), delivered exactly once.
    assert seqs == [1]
    assert got[0]["kind"] == "message.created" and got[0]["payload"]["conversation"]["id"] == conversation.pk
    await agent.disconnect()


@pytest.mark.usefixtures("stop_relay")  # on the in-memory layer (tests/conftest.py)
async def test_relay_once_sends_to_merchant_and_conversation_groups(merchant):
    from channels.layers import get_channel_layer

    conversation = await sync_to_async(ConversationFactory)(merchant=merchant)
    layer = get_channel_layer()
    await layer.group_add(f"merchant-{merchant.pk}", "agents!1")
    await layer.group_add(f"conversation-{conversation.pk}", "widget!1")
    start = await relay._last_event_id()
    await sync_to_async(inbound_elsewhere)(conversation, "hello")
    last = await relay.relay_once(start)
    assert last > start
    first = await layer.receive("agents!1")
    assert first["type"] == "live.event" and first["conversation_id"] == conversation.pk
    assert (await layer.receive("widget!1"))["seq"] == first["seq"]
    assert await relay.relay_once(last) == last  # nothing new, nothing sent


@pytest.mark.usefixtures("redis_layer", "stop_relay")
async def test_with_redis_the_relay_does_not_run(agent_membership):
    agent = await agent_socket(agent_membership.user, agent_membership.merchant_id)
    await receive(agent, type_="hello")
    assert relay.relay_needed() is False
    assert relay.relay_running() is False
    await agent.disconnect()
