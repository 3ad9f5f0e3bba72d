"""One contact, several browsers (DR-66): an e-mail typed in a second browser's pre-chat finds the contact, and
each browser (widget visitor) still reads, writes and marks seen only the threads it opened itself."""

from __future__ import annotations

import importlib
import json
import uuid
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.contacts.models import ConsentEvent, ConsentState, Contact, ContactIdentity
from apps.contacts.services import contact_merge
from apps.conversations import selectors, services, widget
from apps.conversations.models import Conversation, Message, MessageStatus
from apps.conversations.services import widget as widget_writes
from tests.conversations.live_support import (
    ORIGIN,
    drain,
    receive,
    visitor,
    webchat_channel,
    widget_auth,
    widget_socket,
)
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(merchant):
    return webchat_channel(merchant, settings={"prechat_enabled": True})


def post(client, channel, what, data):
    return client.post(
        f"/inbox/widget/{channel.public_key}/{what}/",
        data=json.dumps(data),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )


def prechat(client, channel, token, email, **data):
    return post(client, channel, "prechat", {"token": token, "name": "Ana", "email": email, **data})


def say(channel, visitor_id: str, text: str) -> Message:
    message, _ = widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text=text
    )
    return message


def history(client, channel, token) -> list[str]:
    return [m["body"] for m in post(client, channel, "session", {"token": token}).json()["messages"]]


@pytest.fixture
def ana(client, channel):
    """A customer who chatted from her laptop: her contact, its open thread (with an agent's answer), its token."""
    visitor_id, token = visitor(channel)
    assert prechat(client, channel, token, "ana@example.test").status_code == 200
    thread = say(channel, visitor_id, "my order 10482 to Calle Sol 3?").conversation
    services.message_send(conversation=thread, text="It ships today, Ana.")
    return SimpleNamespace(visitor_id=visitor_id, token=token, thread=thread, contact=thread.contact)


# --------------------------------------------------------------------------- the e-mail finds the contact
@pytest.mark.parametrize("typed", ["ana@example.test", "ANA@Example.TEST"])
def test_a_second_browser_with_the_same_email_finds_the_contact_and_reads_only_its_own_chat(
    client, channel, ana, typed
):
    # given Ana's laptop chat, when a phone's browser types her address (in any case) and writes
    phone_id, phone_token = visitor(channel)
    assert prechat(client, channel, phone_token, typed).status_code == 200
    phone_thread = say(channel, phone_id, "hello from my phone").conversation
    # then the agent sees one contact with both conversations
    assert Contact.objects.filter(email__iexact="ana@example.test", merged_into=None).get() == ana.contact
    assert selectors.visitor_contact(channel=channel, visitor_id=phone_id) == ana.contact
    assert set(ana.contact.conversations.values_list("pk", "visitor_id")) == {
        (ana.thread.pk, ana.visitor_id),
        (phone_thread.pk, phone_id),
    }
    # and each browser reads its own history only
    assert history(client, channel, ana.token) == ["my order 10482 to Calle Sol 3?", "It ships today, Ana."]
    assert history(client, channel, phone_token) == ["hello from my phone"]


def test_the_new_browser_does_not_see_the_contacts_open_conversation_before_it_writes(client, channel, ana):
    phone_id, phone_token = visitor(channel)
    prechat(client, channel, phone_token, "ana@example.test")
    session = post(client, channel, "session", {"token": phone_token}).json()
    assert (session["prechat_done"], session["conversation_id"], session["messages"]) == (True, None, [])
    assert selectors.visitor_conversation(channel=channel, visitor_id=phone_id) is None


def test_seen_marks_and_uploads_of_the_new_browser_never_touch_the_other_browsers_thread(
    client, channel, ana, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    phone_id, phone_token = visitor(channel)
    prechat(client, channel, phone_token, "ana@example.test")
    answer = ana.thread.messages.get(direction="outbound")
    # a seen mark naming the laptop's thread reads nothing there
    marked = widget_writes.widget_mark_seen(
        channel=channel, visitor_id=phone_id, conversation_id=ana.thread.pk, up_to_id=answer.pk
    )
    assert marked == 0 and Message.objects.get(pk=answer.pk).status == MessageStatus.SENT
    # an upload from the phone starts the phone's own thread
    upload = client.post(
        f"/inbox/widget/{channel.public_key}/upload/",
        data={"token": phone_token, "id": str(uuid.uuid4()), "file": _png()},
        HTTP_ORIGIN=ORIGIN,
    )
    assert upload.status_code == 201
    assert upload.json()["conversation_id"] not in (None, ana.thread.pk)
    assert Conversation.objects.get(pk=upload.json()["conversation_id"]).visitor_id == phone_id
    assert ana.thread.messages.count() == 2


def _png():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n fake", content_type="image/png")


def test_without_a_match_the_visitor_gets_a_new_contact_as_before(client, channel, ana):
    phone_id, phone_token = visitor(channel)
    assert prechat(client, channel, phone_token, "bea@example.test").status_code == 200
    bea = selectors.visitor_contact(channel=channel, visitor_id=phone_id)
    assert bea != ana.contact and bea.email == "bea@example.test" and bea.merged_into_id is None
    assert ContactIdentity.objects.get(contact=ana.contact).external_id == ana.visitor_id


@pytest.mark.parametrize("gone", ["erased", "merged"])
def test_an_erased_or_merged_contact_is_never_matched(client, channel, merchant, gone):
    survivor = ContactFactory(merchant=merchant, email="")
    fields = {"erased_at": timezone.now()} if gone == "erased" else {"merged_into": survivor}
    stale = ContactFactory(merchant=merchant, email="ana@example.test", **fields)
    visitor_id, token = visitor(channel)
    assert prechat(client, channel, token, "ana@example.test").status_code == 200
    own = selectors.visitor_contact(channel=channel, visitor_id=visitor_id)
    assert own not in (stale, survivor) and own.email == "ana@example.test" and own.merged_into_id is None


def test_a_contact_of_another_merchant_is_never_matched(client, channel, other_merchant):
    foreign = ContactFactory(merchant=other_merchant, email="ana@example.test")
    visitor_id, token = visitor(channel)
    prechat(client, channel, token, "ana@example.test")
    own = selectors.visitor_contact(channel=channel, visitor_id=visitor_id)
    assert own.merchant_id == channel.merchant_id and own != foreign
    assert Contact.objects.get(pk=foreign.pk).merged_into_id is None


def test_a_chat_that_already_has_another_email_is_still_refused_and_merges_nothing(client, channel, ana):
    phone_id, phone_token = visitor(channel)
    prechat(client, channel, phone_token, "bea@example.test")
    refused = prechat(client, channel, phone_token, "ana@example.test")
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["email"]
    bea = selectors.visitor_contact(channel=channel, visitor_id=phone_id)
    assert bea != ana.contact and bea.email == "bea@example.test"
    assert Contact.objects.filter(merged_into__isnull=False).count() == 0


def test_the_answer_does_not_tell_whether_the_address_is_a_customers(client, channel, ana):
    _, token = visitor(channel)
    matched = prechat(client, channel, token, "ana@example.test").json()
    _, token = visitor(channel)
    unknown = prechat(client, channel, token, "nobody@example.test").json()
    assert matched == unknown == {"ok": True, "consent": False}


def test_the_typed_name_and_phone_fill_gaps_only_never_overwrite_the_known_contact(client, channel, merchant):
    known = ContactFactory(merchant=merchant, name="Ana García", phone="", email="ana@example.test")
    phone_channel = webchat_channel(merchant, settings={"prechat_fields": {"name": "optional", "email": "required",
                                                                           "phone": "optional"}})  # fmt: skip
    _, token = visitor(phone_channel)
    post(client, phone_channel, "prechat", {"token": token, "name": "Mallory", "email": "ana@example.test",
                                            "phone": "+34600999888"})  # fmt: skip
    known.refresh_from_db()
    assert (known.name, known.phone, known.email) == ("Ana García", "+34600999888", "ana@example.test")


# --------------------------------------------------------------------------- consent after a match
def test_after_a_match_an_email_grant_is_pending_and_asked_of_the_known_address(
    client, channel, ana, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.contacts import tasks

    queued: list[tuple] = []
    monkeypatch.setattr(tasks.consent_confirmation_email_send, "apply_async", lambda args, **_: queued.append(args))
    _, token = visitor(channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert prechat(client, channel, token, "ANA@example.test", consent=True).status_code == 200
    event = ConsentEvent.objects.get(contact=ana.contact)
    assert event.resulting_status == "pending"
    assert ConsentState.objects.get(contact=ana.contact, channel="email", purpose="marketing").status == "pending"
    assert queued == [(event.pk, "ana@example.test", "http://testserver/")]


def test_after_a_match_even_a_chat_grant_is_pending_and_asked_in_this_browsers_thread_only(client, merchant, ana):
    chat_grant = webchat_channel(merchant, settings={"prechat_enabled": True, "consent_channel": "webchat"})
    # without a match a chat grant needs no confirmation: the visitor proved the chat by using it
    solo_id, solo_token = visitor(chat_grant)
    prechat(client, chat_grant, solo_token, "solo@example.test", consent=True)
    solo = selectors.visitor_contact(channel=chat_grant, visitor_id=solo_id)
    assert ConsentState.objects.get(contact=solo, channel="webchat").status == "granted"
    # with one, the browser is not proven to be Ana: pending, and the question goes to its own thread
    laptop_thread = say(chat_grant, ana.visitor_id, "hi from the laptop").conversation
    phone_id, phone_token = visitor(chat_grant)
    assert prechat(client, chat_grant, phone_token, "ana@example.test", consent=True).status_code == 200
    assert ConsentState.objects.get(contact=ana.contact, channel="webchat").status == "pending"
    asked = Message.objects.get(metadata__consent_confirm__channel="webchat")
    assert asked.conversation.visitor_id == phone_id and asked.conversation.contact == ana.contact
    assert not laptop_thread.messages.filter(direction="outbound").exists()


# --------------------------------------------------------------------------- merges from the portal
def test_a_portal_merge_of_two_web_chat_contacts_keeps_each_browsers_history_apart(client, channel, merchant):
    laptop_id, laptop_token = visitor(channel)
    phone_id, phone_token = visitor(channel)
    laptop = say(channel, laptop_id, "laptop: my address is Calle Sol 3").conversation
    phone = say(channel, phone_id, "phone: hello").conversation
    # when an agent merges the phone's contact into the laptop's (both threads open)
    contact_merge(source=phone.contact, target=laptop.contact)
    # then both threads stay open on the one contact, each with its browser
    rows = set(Conversation.objects.filter(contact=laptop.contact).values_list("pk", "visitor_id", "status"))
    assert rows == {(laptop.pk, laptop_id, "open"), (phone.pk, phone_id, "open")}
    assert history(client, channel, phone_token) == ["phone: hello"]
    assert history(client, channel, laptop_token) == ["laptop: my address is Calle Sol 3"]
    # and writing again continues each browser's own thread
    assert say(channel, phone_id, "phone again").conversation_id == phone.pk
    assert say(channel, laptop_id, "laptop again").conversation_id == laptop.pk


def test_a_merge_still_resolves_the_sources_thread_when_both_have_one_for_the_same_number(merchant):
    wa = ChannelFactory(merchant=merchant, kind="whatsapp")
    kept = ConversationFactory(merchant=merchant, channel=wa, identity="34600111222")
    folded = ConversationFactory(merchant=merchant, channel=wa, identity="34600111333")
    contact_merge(source=folded.contact, target=kept.contact)
    statuses = dict(Conversation.objects.filter(contact=kept.contact).values_list("pk", "status"))
    assert statuses == {kept.pk: "open", folded.pk: "resolved"}


# --------------------------------------------------------------------------- agents and the service seam
def test_an_agent_starting_a_web_chat_continues_the_contacts_open_thread_or_writes_to_its_browser(channel):
    visitor_id, _ = visitor(channel)
    thread = say(channel, visitor_id, "hi").conversation
    again, created = services.conversation_start(channel=channel, contact=thread.contact)
    assert (again.pk, created) == (thread.pk, False)
    services.conversation_set_status(conversation=thread, status="resolved")
    fresh, created = services.conversation_start(channel=channel, contact=thread.contact)
    assert created and fresh.visitor_id == visitor_id
    assert selectors.visitor_conversation(channel=channel, visitor_id=visitor_id) == fresh


# --------------------------------------------------------------------------- the backfill
def test_the_backfill_gives_each_web_chat_its_contacts_one_browser_and_leaves_the_unknowable_blank(merchant):
    webchat = webchat_channel(merchant)
    one = ConversationFactory(merchant=merchant, channel=webchat, identity="v_laptop")
    two_browsers = ConversationFactory(merchant=merchant, channel=webchat, identity="v_a")
    ContactIdentity.objects.create(merchant=merchant, contact=two_browsers.contact, kind="webchat", external_id="v_b")
    wa = ConversationFactory(merchant=merchant, channel__kind="whatsapp", identity="34600111222")
    never_wrote = ConversationFactory(merchant=merchant, channel=webchat, identity=False)
    Conversation.objects.update(visitor_id="")  # as the rows were before the migration
    migration = importlib.import_module("apps.conversations.migrations.0006_conversation_visitor_id")
    migration.visitor_id_backfill(django_apps, SimpleNamespace(connection=connection))
    visitors = dict(Conversation.objects.values_list("pk", "visitor_id"))
    assert visitors == {one.pk: "v_laptop", two_browsers.pk: "", wa.pk: "", never_wrote.pk: ""}
    assert selectors.visitor_conversation(channel=webchat, visitor_id="v_laptop") == one
    assert selectors.visitor_conversation(channel=webchat, visitor_id="v_a") is None


# --------------------------------------------------------------------------- over the socket
def _two_browsers(channel) -> tuple[SimpleNamespace, SimpleNamespace]:
    """Ana's laptop thread with an agent's answer, and a phone whose pre-chat typed her address."""
    laptop_id, laptop_token = visitor(channel)
    request = widget_writes.PrechatRequest(base_url="http://testserver/", ip_address=None, user_agent="")
    cleaned = {"name": "Ana", "email": "ana@example.test", "phone": "", "consent": False}
    widget_writes.widget_prechat_save(
        channel=channel, visitor=widget.Visitor(channel.pk, laptop_id), cleaned=cleaned, request=request
    )
    thread = say(channel, laptop_id, "laptop: my order 10482").conversation
    services.message_send(conversation=thread, text="It ships today.")
    phone_id, phone_token = visitor(channel)
    widget_writes.widget_prechat_save(
        channel=channel, visitor=widget.Visitor(channel.pk, phone_id), cleaned=cleaned, request=request
    )
    laptop = SimpleNamespace(visitor_id=laptop_id, token=laptop_token, thread=thread)
    return laptop, SimpleNamespace(visitor_id=phone_id, token=phone_token)


@pytest.mark.django_db(transaction=True)
async def test_over_the_socket_the_second_browser_joins_and_hears_only_its_own_thread(merchant):
    channel = await sync_to_async(webchat_channel)(merchant)
    laptop, phone = await sync_to_async(_two_browsers)(channel)
    laptop_socket, phone_socket = await widget_socket(channel), await widget_socket(channel)
    assert (await widget_auth(laptop_socket, laptop.token))["conversation_id"] == laptop.thread.pk
    # the phone is not joined to the contact's open thread, and a catch-up from 0 replays none of it
    assert (await widget_auth(phone_socket, phone.token, after_seq=0))["conversation_id"] is None
    assert (await receive(phone_socket))["type"] == "resumed"
    await phone_socket.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "phone: hello"})
    ack = await receive(phone_socket, type_="ack")
    assert ack["conversation_id"] != laptop.thread.pk
    replayed = [e["message"]["body"] for e in await drain(phone_socket) if e["type"] == "event"]
    assert replayed == ["phone: hello"]
    # an answer in the laptop's thread reaches the laptop only
    await sync_to_async(services.message_send)(conversation=laptop.thread, text="Anything else?")
    heard = await receive(laptop_socket, type_="event", skip=("resumed",))
    assert heard["message"]["body"] == "Anything else?"
    assert [f for f in await drain(phone_socket) if f["type"] == "event"] == []
    await laptop_socket.disconnect()
    await phone_socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_that_wrote_before_its_pre_chat_merged_keeps_writing_in_its_own_thread(merchant):
    channel = await sync_to_async(webchat_channel)(merchant)
    known = await sync_to_async(ContactFactory)(merchant=merchant, email="ana@example.test")
    phone_id, phone_token = visitor(channel)
    socket = await widget_socket(channel)
    await widget_auth(socket, phone_token)
    await socket.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "before the form"})
    first = await receive(socket, type_="ack")
    # the optional pre-chat runs over HTTP meanwhile and finds Ana by her address
    response = await sync_to_async(prechat)(Client(), channel, phone_token, "ana@example.test")
    assert response.status_code == 200
    await socket.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "after the form"})
    second = await receive(socket, type_="ack", skip=("event", "resumed"))
    assert second["conversation_id"] == first["conversation_id"]
    rows = await sync_to_async(list)(Conversation.objects.values_list("pk", "contact_id", "visitor_id"))
    assert rows == [(first["conversation_id"], known.pk, phone_id)]
    await socket.disconnect()
