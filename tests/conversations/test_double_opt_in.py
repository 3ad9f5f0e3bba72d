"""Double opt-in on the channel: a pending widget grant gets one confirmation message; YES or the link confirms."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest

from apps.contacts.models import ConsentEvent, ConsentState
from apps.conversations import live
from apps.conversations.models import Conversation, LiveEvent, Message
from apps.conversations.services.consent import consent_confirmation_request
from tests.conversations.live_support import ORIGIN, visitor, webchat_channel
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db


def prechat(client, channel, token, **data):
    body = {"token": token, "name": "Ana", "email": "ana@example.test", "consent": True, **data}
    return client.post(
        f"/inbox/widget/{channel.public_key}/prechat/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )


@pytest.fixture
def doi_merchant(merchant):
    merchant.settings = {**(merchant.settings or {}), "double_opt_in": True}
    merchant.save(update_fields=["settings"])
    return merchant


@pytest.fixture
def channel(doi_merchant):
    return webchat_channel(doi_merchant, settings={"prechat_enabled": True, "consent_wording": "E-mail me offers."})


def say(channel, visitor_id, text):
    message, _ = live.widget_receive_sync(
        channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text=text
    )
    return message


def test_pending_widget_grant_gets_one_confirmation_message_with_the_link(client, channel):
    _, token = visitor(channel)
    assert prechat(client, channel, token).status_code == 200
    event = ConsentEvent.objects.get()
    assert event.resulting_status == "pending"
    conversation = Conversation.objects.get(channel=channel, contact=event.contact)
    (message,) = Message.objects.filter(conversation=conversation)
    assert (message.direction, message.author_kind, message.automated, message.status) == (
        "outbound",
        "bot",
        True,
        "sent",
    )
    assert "reply YES" in message.body and "by e-mail" in message.body
    assert message.metadata["consent_confirm"] == {"event_id": event.pk, "channel": "email", "purpose": "marketing"}
    # The customer's widget receives it: a public message event on that conversation.
    created = LiveEvent.objects.get(kind="message.created", conversation_id=conversation.pk)
    assert created.payload["internal"] is False and created.payload["body"] == message.body
    # The link in the message is the contacts confirmation page; opening and confirming it grants.
    link = next(word for word in message.body.split() if word.startswith("http://testserver/"))
    path = urlsplit(link).path
    assert path.startswith("/contacts/confirm/")
    assert client.get(path).status_code == 200 and ConsentState.objects.get().status == "pending"
    assert client.post(path).status_code == 200
    assert ConsentState.objects.get().status == "granted"


def test_replying_yes_confirms_the_grant_the_message_asked_about(client, channel):
    visitor_id, token = visitor(channel)
    prechat(client, channel, token)
    say(channel, visitor_id, "Yes!")
    state = ConsentState.objects.get()
    assert (state.channel, state.status) == ("email", "granted")
    confirm = ConsentEvent.objects.get(action="confirm")
    assert confirm.source == "keyword" and "Yes!" in confirm.wording
    reply = Message.objects.filter(direction="outbound").order_by("-id").first()
    assert reply.automated and "is confirmed" in reply.body
    # A second YES has nothing pending to confirm: no more events, no more replies.
    replies = Message.objects.filter(direction="outbound").count()
    say(channel, visitor_id, "yes")
    assert ConsentEvent.objects.count() == 2 and Message.objects.filter(direction="outbound").count() == replies


def test_no_message_without_double_opt_in_or_without_the_box(client, merchant):
    channel = webchat_channel(merchant, settings={"prechat_enabled": True})
    _, token = visitor(channel)
    prechat(client, channel, token)
    assert ConsentState.objects.get().status == "granted"
    assert not Message.objects.exists() and not Conversation.objects.exists()
    merchant.settings = {"double_opt_in": True}
    merchant.save(update_fields=["settings"])
    _, token = visitor(channel)
    prechat(client, channel, token, consent=False)
    assert not Message.objects.exists()


def test_yes_without_a_request_is_an_ordinary_message(channel):
    visitor_id, _ = visitor(channel)
    message = say(channel, visitor_id, "yes")
    assert message is not None and "keyword" not in message.metadata
    assert not ConsentEvent.objects.exists() and Message.objects.count() == 1


def test_webchat_consent_is_confirmed_by_the_keyword_engine_once(client, doi_merchant):
    channel = webchat_channel(doi_merchant, settings={"prechat_enabled": True, "consent_channel": "webchat"})
    visitor_id, token = visitor(channel)
    prechat(client, channel, token)
    assert "by chat" in Message.objects.get().body
    say(channel, visitor_id, "YES")
    assert ConsentState.objects.get(channel="webchat").status == "granted"
    assert ConsentEvent.objects.filter(action="confirm").count() == 1
    assert Message.objects.filter(direction="outbound").count() == 2  # the request and one reply


def test_request_is_not_sent_for_a_granted_event_or_another_contact(merchant):
    from apps.contacts.services import consent_record

    conversation = ConversationFactory(merchant=merchant, channel=webchat_channel(merchant))
    granted = consent_record(
        merchant=merchant, contact=conversation.contact, channel="email", purpose="marketing", action="grant",
        source="web_form", wording="Subscribe me.",
    )  # fmt: skip
    assert consent_confirmation_request(conversation=conversation, event=granted) is None
    other = ConversationFactory(merchant=merchant, channel=conversation.channel)
    pending = consent_record(
        merchant=merchant, contact=other.contact, channel="email", purpose="marketing", action="grant",
        source="web_form", wording="Subscribe me.", double_opt_in=True,
    )  # fmt: skip
    assert consent_confirmation_request(conversation=conversation, event=pending) is None
    message = consent_confirmation_request(conversation=other, event=pending, base_url="https://portal.example/")
    assert "https://portal.example/contacts/confirm/" in message.body
    assert not Message.objects.exclude(pk=message.pk).exists()
