"""An agent's reply and the customer's inbound messages on the same conversation at the same moment, on two real
PostgreSQL connections, many times: neither waits on the other in a circle (one lock order: conversation,
contact, message, then the merchant's live-event seq; DR-81), so nothing fails and every message
is stored once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.conversations.models import Conversation, Message
from apps.conversations.services import message_send, webhook_event_store
from apps.conversations.services.maintenance import webhook_event_run
from tests.conversations.wa_batches import wa_messages_body, wa_text_item
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import grant
from tests.factories.conversations import ConversationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 40
WA_ID = "34600111222"


def test_replies_and_inbound_messages_of_one_conversation_never_deadlock(merchant, wa_channel, fake_graph, eager):
    # given a contact under a marketing frequency cap (its check locks the conversation, then the contact)
    merchant.settings = {"marketing_frequency_cap": {"max": 100, "period": "day"}}
    merchant.save(update_fields=["settings"])
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, identity=WA_ID)
    grant(conversation.contact)
    template = TemplateFactory(merchant=merchant, category="marketing", body="Hola {{first_name}}")
    start, failures = threading.Barrier(2), []

    def agent() -> None:
        start.wait(10)
        for i in range(ROUNDS):
            # a campaign-style marketing template, then a free reply, each delivered at once after its commit
            if i % 2:
                message_send(conversation=conversation, text=f"reply {i}", human_agent=True)
            else:
                message_send(conversation=conversation, template=template, template_params={"first_name": "Ana"})

    def customer() -> None:
        start.wait(10)
        for i in range(ROUNDS):
            event = webhook_event_store(
                channel=wa_channel, body=wa_messages_body(wa_channel, [wa_text_item(WA_ID, f"wamid.C{i}", "hi")])
            )
            assert webhook_event_run(event_id=event.pk) is False, "the run asked to be retried"

    def run(fn) -> None:
        try:
            fn()
        except Exception as exc:  # the assertion below names it
            failures.append(f"{fn.__name__}: {exc.__class__.__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in (agent, customer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    # then neither side failed, and every message exists exactly once
    assert failures == []
    inbound = list(Message.objects.filter(direction="inbound").values_list("provider_message_id", flat=True))
    assert sorted(inbound) == sorted(f"wamid.C{i}" for i in range(ROUNDS))
    outbound = Message.objects.filter(direction="outbound")
    assert outbound.count() == ROUNDS and set(outbound.values_list("status", flat=True)) == {"sent"}
    assert len(fake_graph.sent) == ROUNDS
    assert Conversation.objects.get().unread_count >= ROUNDS
