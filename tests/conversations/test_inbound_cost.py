"""What one inbound message costs: queries and live events (one `message.created` carrying the summary)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from apps.conversations import live
from apps.conversations.models import Conversation, LiveEvent, Message
from apps.conversations.services import (
    conversation_set_status,
    message_receive,
    message_send,
    webhook_event_process,
    webhook_event_store,
)
from apps.conversations.services import widget as widget_writes
from tests.conversations.live_support import visitor, webchat_channel
from tests.factories.conversations import ChannelFactory, ConversationFactory

pytestmark = pytest.mark.django_db
# A live event's seq bump and INSERT: one statement on PostgreSQL, two on SQLite (no INSERT inside WITH).
EVENT = 1 if connection.vendor == "postgresql" else 2


def wa_body(channel, wa_id: str, mid: str, text: str = "hola") -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000001", "phone_number_id": channel.phone_number_id},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": mid, "timestamp": str(int(timezone.now().timestamp())), "type": "text",
                      "text": {"body": text}}],
    }  # fmt: skip
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": value}]}]}).encode()  # fmt: skip


def test_web_chat_message_is_one_event_and_9_queries_besides_it(merchant, django_assert_num_queries):
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text="first"
    )
    before = LiveEvent.objects.count()
    # identity lookup + 2 contact touches (contacts), conversation lock, message INSERT, counters UPDATE,
    # keyword table, the savepoint pair around message_receive, and the event.
    with django_assert_num_queries(9 + EVENT):
        message, _ = widget_writes.widget_message_receive(
            channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text="where is my order?"
        )
    (event,) = LiveEvent.objects.all()[before:]
    assert event.kind == "message.created" and event.payload["id"] == message.pk
    summary = event.payload["conversation"]
    assert summary["id"] == message.conversation_id and summary["unread_count"] == 2
    assert summary["last_message_preview"] == "where is my order?" and summary["internal"] is True


def test_long_messages_skip_the_keyword_lookup(merchant, django_assert_num_queries):
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text="first"
    )
    with django_assert_num_queries(8 + EVENT):
        widget_writes.widget_message_receive(
            channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text="x" * 200
        )


def test_whatsapp_webhook_costs(merchant, django_assert_num_queries):
    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    first = webhook_event_store(channel=channel, body=wa_body(channel, "34600000001", "wamid.A"))
    with django_assert_num_queries(22):  # new contact and new conversation included
        webhook_event_process(event_id=first.pk)
    again = webhook_event_store(channel=channel, body=wa_body(channel, "34600000001", "wamid.B"))
    with django_assert_num_queries(14):
        webhook_event_process(event_id=again.pk)
    kinds = list(LiveEvent.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds == ["message.created", "message.created"]  # a new conversation is announced by its first message
    assert Message.objects.count() == 2 and Conversation.objects.count() == 1


def test_a_redelivered_message_changes_nothing_even_after_resolution(merchant):
    conversation = ConversationFactory(merchant=merchant, channel__kind="whatsapp")
    kwargs = {
        "channel": conversation.channel, "contact": conversation.contact, "provider_message_id": "wamid.SAME",
        "kind": "text", "body": "hi", "attachments": [], "received_at": timezone.now(),
    }  # fmt: skip
    assert message_receive(**kwargs) == Message.objects.get(provider_message_id="wamid.SAME")
    conversation_set_status(conversation=conversation, status="resolved")
    events = LiveEvent.objects.count()
    assert message_receive(**kwargs) is None
    conversation.refresh_from_db()
    assert conversation.status == "resolved" and conversation.unread_count == 1
    assert LiveEvent.objects.count() == events and Message.objects.count() == 1
    assert Conversation.objects.count() == 1


def test_agent_reply_is_one_event_with_the_summary(merchant):
    conversation = ConversationFactory(merchant=merchant, channel=webchat_channel(merchant))
    message_send(conversation=conversation, text="On its way", human_agent=True)
    (event,) = LiveEvent.objects.all()
    assert event.kind == "message.created" and event.payload["conversation"]["last_message_preview"] == "On its way"
    message_send(conversation=conversation, text="note", is_note=True)
    assert "conversation" not in LiveEvent.objects.order_by("-seq").first().payload


def test_the_summary_never_reaches_the_widget(merchant):
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    widget_writes.widget_message_receive(channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text="hi")
    event = LiveEvent.objects.get()
    view = live.widget_event_view({"kind": event.kind, "seq": event.seq, "payload": event.payload})
    assert view["message"]["body"] == "hi" and "conversation" not in view["message"]
    assert "unread_count" not in json.dumps(view)
