"""Double opt-in on the grant's own channel: an e-mail grant is confirmed from the mailbox, a chat grant in the chat."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import pytest
from django.core import mail

from apps.contacts.models import ConsentEvent, ConsentState
from apps.conversations.models import Conversation, Message
from apps.conversations.services.double_opt_in import consent_confirmation_request
from apps.conversations.services.widget import widget_message_receive
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
    message, _ = widget_message_receive(channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text=text)
    return message


@pytest.fixture
def mailer(monkeypatch):
    """The confirmation e-mail task's queue: the request only enqueues; `send()` runs what was queued."""
    from apps.contacts import tasks

    queued: list[tuple] = []
    monkeypatch.setattr(tasks.consent_confirmation_email_send, "apply_async", lambda args, **_: queued.append(args))

    class Mailer:
        def send(self) -> list[bool]:
            return [tasks.consent_confirmation_email_send(*args) for args in queued]

    Mailer.queued = queued
    return Mailer()


def _link(body: str) -> str:
    return urlsplit(next(word for word in body.split() if word.startswith("http://testserver/"))).path


def test_pending_email_grant_is_confirmed_through_the_typed_address(
    client, channel, mailer, django_capture_on_commit_callbacks
):
    _, token = visitor(channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert prechat(client, channel, token).status_code == 200
    event = ConsentEvent.objects.get()
    assert event.resulting_status == "pending"
    # Nothing in the chat: a click or a YES there would prove nothing about the address.
    assert not Message.objects.exists() and not Conversation.objects.exists()
    assert mail.outbox == [] and mailer.queued == [(event.pk, "ana@example.test", "http://testserver/")]
    assert mailer.send() == [True]
    (sent,) = mail.outbox
    assert sent.to == ["ana@example.test"] and sent.subject == "Confirm your subscription to Acme Shop"
    path = _link(sent.body)
    assert path.startswith("/contacts/confirm/")
    assert client.get(path).status_code == 200 and ConsentState.objects.get().status == "pending"
    assert client.post(path).status_code == 200
    assert ConsentState.objects.get().status == "granted"
    # A retried task after the confirmation asks nothing more.
    assert mailer.send() == [False] and len(mail.outbox) == 1


def test_the_widget_never_moves_a_consent_to_another_address(
    client, channel, mailer, django_capture_on_commit_callbacks
):
    from apps.contacts.services import contact_update

    _, token = visitor(channel)
    with django_capture_on_commit_callbacks(execute=True):
        prechat(client, channel, token)
    retyped = prechat(client, channel, token, email="victim@example.test")
    assert retyped.status_code == 400
    assert retyped.json()["error"]["fields"] == {
        "email": ["This chat already has another e-mail address; ask us here to change it."]
    }
    event = ConsentEvent.objects.get()
    assert event.contact.email == "ana@example.test"
    # The address changed (by an agent) before the worker ran: the link is not mailed to either address.
    contact_update(contact=event.contact, email="new@example.test")
    assert mailer.send() == [False] and mail.outbox == []


def test_replying_yes_in_the_chat_does_not_confirm_an_email_grant(client, channel):
    visitor_id, token = visitor(channel)
    prechat(client, channel, token)
    message = say(channel, visitor_id, "Yes!")
    state = ConsentState.objects.get()
    assert (state.channel, state.status) == ("email", "pending")
    assert not ConsentEvent.objects.filter(action="confirm").exists()
    assert "keyword" not in message.metadata and not Message.objects.filter(direction="outbound").exists()


def test_email_grant_is_pending_without_double_opt_in_and_nothing_without_the_box(
    client, merchant, mailer, django_capture_on_commit_callbacks
):
    channel = webchat_channel(merchant, settings={"prechat_enabled": True})
    _, token = visitor(channel)
    with django_capture_on_commit_callbacks(execute=True):
        prechat(client, channel, token)
    assert ConsentState.objects.get().status == "pending"
    assert len(mailer.queued) == 1 and not Message.objects.exists() and not Conversation.objects.exists()
    _, token = visitor(channel)
    with django_capture_on_commit_callbacks(execute=True):
        prechat(client, channel, token, consent=False, email="bo@example.test")
    assert ConsentState.objects.count() == 1 and len(mailer.queued) == 1


def test_webchat_grant_follows_the_merchant_setting(client, merchant):
    channel = webchat_channel(merchant, settings={"prechat_enabled": True, "consent_channel": "webchat"})
    _, token = visitor(channel)
    prechat(client, channel, token)
    assert ConsentState.objects.get(channel="webchat").status == "granted"
    assert not Message.objects.exists()


def test_whatsapp_grant_from_the_widget_stays_pending_with_no_chat_request(client, merchant, mailer):
    channel = webchat_channel(merchant, settings={"prechat_enabled": True, "consent_channel": "whatsapp"})
    visitor_id, token = visitor(channel)
    prechat(client, channel, token)
    assert ConsentState.objects.get(channel="whatsapp").status == "pending"
    say(channel, visitor_id, "YES")  # in the web chat: not the WhatsApp number
    assert ConsentState.objects.get(channel="whatsapp").status == "pending"
    assert not Message.objects.filter(direction="outbound").exists() and mailer.queued == []


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


def test_request_is_not_sent_for_a_granted_event_another_contact_or_another_channel(merchant):
    from apps.contacts.services import consent_record

    conversation = ConversationFactory(merchant=merchant, channel=webchat_channel(merchant))
    granted = consent_record(
        merchant=merchant, contact=conversation.contact, channel="webchat", purpose="marketing", action="grant",
        source="web_form", wording="Subscribe me.",
    )  # fmt: skip
    assert consent_confirmation_request(conversation=conversation, event=granted) is None
    other = ConversationFactory(merchant=merchant, channel=conversation.channel)
    email = consent_record(
        merchant=merchant, contact=other.contact, channel="email", purpose="marketing", action="grant",
        source="web_form", wording="Subscribe me.", double_opt_in=True,
    )  # fmt: skip
    assert consent_confirmation_request(conversation=other, event=email) is None  # the chat cannot prove an e-mail
    pending = consent_record(
        merchant=merchant, contact=other.contact, channel="webchat", purpose="marketing", action="grant",
        source="web_form", wording="Subscribe me.", double_opt_in=True,
    )  # fmt: skip
    assert consent_confirmation_request(conversation=conversation, event=pending) is None
    message = consent_confirmation_request(conversation=other, event=pending, base_url="https://portal.example/")
    assert "https://portal.example/contacts/confirm/" in message.body
    assert not Message.objects.exclude(pk=message.pk).exists()
