"""Two marketing sends to one contact at the same moment, on two real PostgreSQL connections: the merchant's
frequency cap lets exactly one through (the check locks the contact until the message is stored)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from apps.conversations.models import Message
from apps.conversations.policy import PolicyRefused
from apps.conversations.services import message_send
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import grant
from tests.factories.conversations import ConversationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_two_racing_marketing_sends_cannot_both_fit_under_the_cap(merchant, wa_channel, fake_graph, eager):
    merchant.settings = {"marketing_frequency_cap": {"max": 1, "period": "day"}}
    merchant.save(update_fields=["settings"])
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, identity="34600111222")
    grant(conversation.contact)
    template = TemplateFactory(merchant=merchant, category="marketing", body="Hola {{first_name}}")
    first_stored, release, results = threading.Event(), threading.Event(), {}

    def send(name: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                results[name] = message_send(
                    conversation=conversation, template=template, template_params={"first_name": "Ana"}
                ).status
                if hold:
                    first_stored.set()
                    release.wait(10)
        except PolicyRefused as refused:
            results[name] = refused.code
        finally:
            connection.close()

    a = threading.Thread(target=send, args=("a", True))
    a.start()
    assert first_stored.wait(10)
    b = threading.Thread(target=send, args=("b", False))
    b.start()
    b.join(1.0)
    assert b.is_alive(), "the second send must wait for the first one's lock on the contact"
    release.set()
    a.join(10)
    b.join(10)
    assert results == {"a": "queued", "b": "frequency_cap"}
    assert Message.objects.filter(direction="outbound").count() == 1
    assert len(fake_graph.sent) == 1
