"""Sockets through portal.asgi.application on the in-memory channel layer (consumers run in other
threads, so these tests commit: transaction=True); those marked `redis` need Redis pub/sub."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.contacts.models import ContactIdentity
from apps.conversations import events, services
from apps.conversations.models import Conversation, LiveEvent, Message
from tests.conversations.live_support import agent_socket as _agent_socket
from tests.conversations.live_support import (
    drain,
    events_until_resumed,
    expect_close,
    receive,
    visitor,
    visitor_contact,
    webchat_channel,
    widget_auth,
    widget_socket,
)
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def inbound(conversation, text="Hello", provider_id=None):
    return services.message_receive(
        channel=conversation.channel,
        contact=conversation.contact,
        provider_message_id=provider_id or f"wamid.{uuid.uuid4().hex}",
        kind="text",
        body=text,
        attachments=[],
        received_at=timezone.now(),
    )


async def agent_socket(membership):
    socket = await _agent_socket(membership.user, membership.merchant_id)
    hello = await receive(socket, type_="hello")
    assert hello["merchant_id"] == membership.merchant_id
    return socket, hello


# --------------------------------------------------------------------------- who may connect
async def test_anonymous_socket_is_closed_4401():
    socket = await _agent_socket(None)
    await expect_close(socket, 4401)


async def test_member_without_inbox_capability_is_closed_4403(marketer_membership):
    socket = await _agent_socket(marketer_membership.user, marketer_membership.merchant_id)
    await expect_close(socket, 4403)


async def test_user_without_membership_is_closed_4403(db):
    user = await sync_to_async(UserFactory)()
    socket = await _agent_socket(user)
    await expect_close(socket, 4403)


async def test_foreign_origin_is_refused_before_the_consumer(agent_membership):
    socket = await _agent_socket(
        agent_membership.user, agent_membership.merchant_id, origin="https://evil.example", connect=False
    )
    connected, _code = await socket.connect(timeout=3)
    assert connected is False


async def test_session_merchant_choice_is_honoured_only_for_own_memberships(agent_membership, other_merchant):
    # The session names another merchant the user is not a member of: the user's own merchant is used.
    socket = await _agent_socket(agent_membership.user, other_merchant.pk)
    hello = await receive(socket, type_="hello")
    assert hello["merchant_id"] == agent_membership.merchant_id
    await socket.disconnect()


# --------------------------------------------------------------------------- live events
async def test_agent_receives_own_merchants_events_only(agent_membership, other_admin_membership):
    mine = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    theirs = await sync_to_async(ConversationFactory)(merchant=other_admin_membership.merchant)
    socket, _ = await agent_socket(agent_membership)
    other, _ = await agent_socket(other_admin_membership)

    message = await sync_to_async(inbound)(mine, "<script>alert(1)</script>")
    got = await drain(socket)
    assert {e["conversation_id"] for e in got} == {mine.pk}
    created = next(e for e in got if e["kind"] == "message.created")
    assert created["payload"]["id"] == message.pk
    assert created["payload"]["body"] == "<script>alert(1)</script>"  # raw text; the UI escapes it
    assert await other.receive_nothing(timeout=0.3)

    await sync_to_async(inbound)(theirs)
    assert {e["conversation_id"] for e in await drain(other)} == {theirs.pk}
    assert await drain(socket) == []
    await socket.disconnect()
    await other.disconnect()


async def test_an_event_reaches_a_socket_without_a_hop_through_the_thread_sensitive_thread(
    agent_membership, monkeypatch
):
    import channels.consumer

    hops = []

    async def counted():
        hops.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await agent_socket(agent_membership)
    message = await sync_to_async(inbound)(conversation)
    got = await drain(socket)
    assert any(e["kind"] == "message.created" and e["payload"]["id"] == message.pk for e in got)
    assert hops == []  # each socket's own database calls close stale connections in their worker thread
    await socket.disconnect()


async def test_resume_delivers_exactly_the_missed_events(agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    await sync_to_async(inbound)(conversation, "seen before")
    seen = await sync_to_async(events.last_seq)(merchant_id=agent_membership.merchant_id)
    for n in range(3):
        await sync_to_async(inbound)(conversation, f"missed {n}")
    missed = await sync_to_async(
        lambda: list(
            LiveEvent.objects.filter(merchant=agent_membership.merchant, seq__gt=seen).values_list("seq", flat=True)
        )
    )()
    assert len(missed) == 3  # one message.created each

    socket, hello = await agent_socket(agent_membership)
    assert hello["last_seq"] == max(missed)
    await socket.send_json_to({"type": "resume", "after_seq": seen})
    got = await events_until_resumed(socket)
    assert [e["seq"] for e in got] == sorted(missed)
    bodies = [e["payload"]["body"] for e in got if e["kind"] == "message.created"]
    assert bodies == ["missed 0", "missed 1", "missed 2"]

    # Resuming again from the same point sends nothing twice on this socket.
    await socket.send_json_to({"type": "resume", "after_seq": seen})
    assert await events_until_resumed(socket) == []
    await socket.disconnect()


async def test_resume_rejects_bad_input_and_foreign_conversations(agent_membership, other_merchant):
    theirs = await sync_to_async(ConversationFactory)(merchant=other_merchant)
    await sync_to_async(inbound)(theirs, "SWEEP-SECRET")
    socket, _ = await agent_socket(agent_membership)
    await socket.send_json_to({"type": "resume", "after_seq": "x"})
    assert (await receive(socket, type_="error"))["field"] == "after_seq"
    await socket.send_json_to({"type": "resume", "after_seq": 0, "conversation_id": theirs.pk})
    error = await receive(socket, type_="error")
    assert error["code"] == "not_found"
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to({"type": "bogus"})
    assert (await receive(socket, type_="error"))["code"] == "unknown_type"
    await socket.disconnect()


# --------------------------------------------------------------------------- typing, read, presence
async def test_typing_reaches_other_agents_and_the_widget_but_not_the_sender(agent_membership, admin_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    visitor_id, token = visitor(channel)
    contact = await sync_to_async(visitor_contact)(channel, visitor_id)
    conversation = await sync_to_async(ConversationFactory)(
        merchant=agent_membership.merchant, channel=channel, contact=contact, identity=False
    )
    sender, _ = await agent_socket(agent_membership)
    colleague, _ = await agent_socket(admin_membership)
    customer = await widget_socket(channel)
    await widget_auth(customer, token)

    await sender.send_json_to({"type": "typing", "conversation_id": conversation.pk, "state": "on"})
    typing = await receive(colleague, type_="typing")
    assert typing == {
        "type": "typing",
        "conversation_id": conversation.pk,
        "who": "agent",
        "name": agent_membership.user.display_name,
        "state": "on",
    }
    assert (await receive(customer, type_="typing"))["who"] == "agent"
    assert await sender.receive_nothing(timeout=0.3)
    assert await sync_to_async(LiveEvent.objects.count)() == 0  # typing is never stored

    await customer.send_json_to({"type": "typing", "state": "on"})
    assert (await receive(sender, type_="typing"))["who"] == "contact"
    for socket in (sender, colleague, customer):
        await socket.disconnect()


async def test_typing_and_read_on_another_merchants_conversation_are_refused(agent_membership, other_admin_membership):
    theirs = await sync_to_async(ConversationFactory)(merchant=other_admin_membership.merchant, unread_count=4)
    socket, _ = await agent_socket(agent_membership)
    victim, _ = await agent_socket(other_admin_membership)
    await socket.send_json_to({"type": "typing", "conversation_id": theirs.pk})
    assert (await receive(socket, type_="error"))["code"] == "not_found"
    await socket.send_json_to({"type": "read", "conversation_id": theirs.pk})
    assert (await receive(socket, type_="error"))["code"] == "not_found"
    assert await victim.receive_nothing(timeout=0.3)
    await sync_to_async(theirs.refresh_from_db)()
    assert theirs.unread_count == 4
    await socket.disconnect()
    await victim.disconnect()


async def test_read_marks_the_conversation_read_and_everyone_sees_it(agent_membership, admin_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant, unread_count=3)
    socket, _ = await agent_socket(agent_membership)
    colleague, _ = await agent_socket(admin_membership)
    await socket.send_json_to({"type": "read", "conversation_id": conversation.pk})
    event = await receive(colleague, type_="event", skip=("typing",))
    while event["kind"] != "conversation.updated":
        event = await receive(colleague, type_="event")
    assert event["payload"]["unread_count"] == 0
    await sync_to_async(conversation.refresh_from_db)()
    assert conversation.unread_count == 0
    await socket.disconnect()
    await colleague.disconnect()


async def test_presence_goes_through_the_service_and_offline_on_disconnect(agent_membership):
    from apps.conversations.models import AgentPresence

    socket, _ = await agent_socket(agent_membership)
    await socket.send_json_to({"type": "presence", "status": "online"})
    await socket.send_json_to({"type": "presence", "status": "dancing"})
    assert (await receive(socket, type_="error", skip=("event",)))["field"] == "status"
    presence = await sync_to_async(AgentPresence.objects.get)(user=agent_membership.user)
    assert presence.status == "online"
    await socket.disconnect()
    await sync_to_async(presence.refresh_from_db)()
    assert presence.status == "offline"


# --------------------------------------------------------------------------- the widget socket
async def test_widget_refuses_foreign_origins_unknown_keys_and_forged_tokens(merchant):
    channel = await sync_to_async(webchat_channel)(merchant)
    socket = await widget_socket(channel, origin="https://evil.example")
    await expect_close(socket, 4403)
    socket = await widget_socket(channel, public_key="nope-nope-nope")
    await expect_close(socket, 4404)

    socket = await widget_socket(channel)
    await socket.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "hi"})
    assert (await receive(socket, type_="error"))["code"] == "unauthenticated"
    _, token = visitor(channel)
    await socket.send_json_to({"type": "auth", "token": token[:-2] + "xx"})
    assert (await receive(socket, type_="error"))["code"] == "bad_token"
    await expect_close(socket, 4401)


async def test_a_token_for_another_channel_is_refused(merchant):
    channel = await sync_to_async(webchat_channel)(merchant)
    other_channel = await sync_to_async(webchat_channel)(merchant)
    _, token = visitor(other_channel)
    socket = await widget_socket(channel)
    await socket.send_json_to({"type": "auth", "token": token})
    assert (await receive(socket, type_="error"))["code"] == "bad_token"
    await expect_close(socket, 4401)


async def test_widget_message_is_stored_once_and_reaches_agents_live(agent_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    _, token = visitor(channel)
    agent, _ = await agent_socket(agent_membership)
    customer = await widget_socket(channel)
    ready = await widget_auth(customer, token)
    assert ready["conversation_id"] is None

    client_id = str(uuid.uuid4())
    await customer.send_json_to({"type": "message", "id": client_id, "text": "<b>Hi</b> there"})
    ack = await receive(customer, type_="ack")
    assert ack["id"] == client_id and ack["duplicate"] is False
    event = await receive(agent, type_="event")
    while event["kind"] != "message.created":
        event = await receive(agent, type_="event")
    assert event["payload"]["body"] == "<b>Hi</b> there"
    assert event["payload"]["id"] == ack["message_id"]

    # A resend after a dropped connection (same client id) is acknowledged but not stored twice.
    await customer.send_json_to({"type": "message", "id": client_id, "text": "<b>Hi</b> there"})
    again = await receive(customer, type_="ack", skip=("event", "resumed"))
    assert again["duplicate"] is True and again["message_id"] == ack["message_id"]
    assert await sync_to_async(Message.objects.filter(conversation_id=ack["conversation_id"]).count)() == 1

    await customer.send_json_to({"type": "message", "id": "not-a-uuid", "text": "x"})
    assert (await receive(customer, type_="error", skip=("event", "resumed")))["code"] == "invalid"
    await agent.disconnect()
    await customer.disconnect()


async def test_widget_sees_agent_replies_but_never_notes_or_internal_events(agent_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    visitor_id, token = visitor(channel)
    contact = await sync_to_async(visitor_contact)(channel, visitor_id)
    conversation = await sync_to_async(ConversationFactory)(
        merchant=agent_membership.merchant, channel=channel, contact=contact, identity=False
    )
    customer = await widget_socket(channel)
    assert (await widget_auth(customer, token))["conversation_id"] == conversation.pk

    def agent_actions():
        services.message_send(conversation=conversation, author=agent_membership.user, text="SECRET note", is_note=True)
        services.conversation_set_labels(conversation=conversation, labels=["vip"])
        return services.message_send(conversation=conversation, author=agent_membership.user, text="How can I help?")

    reply = await sync_to_async(agent_actions)()
    event = await receive(customer, type_="event")
    assert event["kind"] == "message.created"
    assert event["message"]["id"] == reply.pk and event["message"]["body"] == "How can I help?"
    assert "author_id" not in event["message"] and "payload" not in event
    assert await customer.receive_nothing(timeout=0.3)

    # Catch-up after a reconnect carries the same projection: the note and the labels stay internal.
    again = await widget_socket(channel)
    await widget_auth(again, token, after_seq=0)
    replayed = await events_until_resumed(again)
    assert [e["message"]["body"] for e in replayed] == ["How can I help?"]
    await customer.disconnect()
    await again.disconnect()


async def test_widget_cannot_open_another_visitors_conversation(merchant):
    channel = await sync_to_async(webchat_channel)(merchant)
    alice_id, alice_token = visitor(channel)
    bob_id, bob_token = visitor(channel)
    alice = await sync_to_async(ConversationFactory)(
        merchant=merchant,
        channel=channel,
        contact=await sync_to_async(visitor_contact)(channel, alice_id),
        identity=False,
    )
    bob = await sync_to_async(ConversationFactory)(
        merchant=merchant,
        channel=channel,
        contact=await sync_to_async(visitor_contact)(channel, bob_id),
        identity=False,
    )
    await sync_to_async(services.message_send)(conversation=bob, text="Bob's private reply")

    socket = await widget_socket(channel)
    ready = await widget_auth(socket, alice_token, after_seq=0)
    assert ready["conversation_id"] == alice.pk
    assert await events_until_resumed(socket) == []  # Bob's events are not Alice's to catch up on
    await socket.send_json_to({"type": "resume", "after_seq": 0, "conversation_id": bob.pk})
    assert await events_until_resumed(socket) == []
    await sync_to_async(services.message_send)(conversation=bob, text="another for Bob")
    assert await socket.receive_nothing(timeout=0.3)
    # Re-authenticating as someone else on the same socket is refused.
    await socket.send_json_to({"type": "auth", "token": bob_token})
    assert (await receive(socket, type_="error"))["code"] == "bad_token"
    await expect_close(socket, 4401)


async def test_widget_seen_marks_agent_replies_read_for_the_inbox(agent_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    visitor_id, token = visitor(channel)
    contact = await sync_to_async(visitor_contact)(channel, visitor_id)
    conversation = await sync_to_async(ConversationFactory)(
        merchant=agent_membership.merchant, channel=channel, contact=contact, identity=False
    )
    reply = await sync_to_async(services.message_send)(
        conversation=conversation, author=agent_membership.user, text="Done!"
    )
    agent, _ = await agent_socket(agent_membership)
    customer = await widget_socket(channel)
    await widget_auth(customer, token)
    await customer.send_json_to({"type": "seen", "message_id": reply.pk})
    event = await receive(agent, type_="event")
    while event["kind"] != "message.updated":
        event = await receive(agent, type_="event")
    assert event["payload"]["id"] == reply.pk and event["payload"]["status"] == "read"
    await sync_to_async(reply.refresh_from_db)()
    assert reply.status == "read"
    await agent.disconnect()
    await customer.disconnect()


async def test_an_agent_of_another_merchant_never_hears_a_widget(agent_membership, other_admin_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    _, token = visitor(channel)
    outsider, _ = await agent_socket(other_admin_membership)
    customer = await widget_socket(channel)
    await widget_auth(customer, token)
    await customer.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "private"})
    await receive(customer, type_="ack")
    await customer.send_json_to({"type": "typing"})
    assert await outsider.receive_nothing(timeout=0.5)
    assert await sync_to_async(Conversation.objects.filter(merchant=other_admin_membership.merchant).count)() == 0
    await outsider.disconnect()
    await customer.disconnect()


async def test_a_flooding_widget_is_slowed_down_before_the_database(merchant):
    channel = await sync_to_async(webchat_channel)(merchant)
    _, token = visitor(channel)
    socket = await widget_socket(channel)
    await widget_auth(socket, token)
    for _ in range(40):
        await socket.send_json_to({"type": "typing"})
    frames = await drain(socket)
    assert frames and all(
        f == {"type": "error", "code": "slow_down", "message": frames[0]["message"], "id": None} for f in frames
    )
    assert len(frames) >= 40 - 20
    await socket.disconnect()


async def test_widget_events_carry_signed_links_to_agent_files(agent_membership, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.conversations import uploads

    settings.MEDIA_ROOT = tmp_path
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    visitor_id, token = visitor(channel)
    contact = await sync_to_async(visitor_contact)(channel, visitor_id)
    conversation = await sync_to_async(ConversationFactory)(
        merchant=agent_membership.merchant, channel=channel, contact=contact, identity=False
    )
    customer = await widget_socket(channel)
    await widget_auth(customer, token)

    def send_file():
        from django.db import transaction

        upload = SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", content_type="application/pdf")
        with transaction.atomic():
            message = services.message_send(
                conversation=conversation, author=agent_membership.user, text="Your label",
                attachments=[uploads.attachment_summary(upload, "document")],
            )  # fmt: skip
            uploads.attachment_store(message=message, upload=upload, media_type="document")

    await sync_to_async(send_file)()
    event = await receive(customer, type_="event")
    (link,) = event["message"]["attachments"]
    assert link["filename"] == "label.pdf"
    assert link["url"].startswith(f"/inbox/widget/{channel.public_key}/files/")
    await customer.disconnect()


async def test_a_visitor_who_skips_a_required_pre_chat_field_cannot_write_on_the_socket(agent_membership):
    """The form is the widget's; a script can open the socket without it. Nothing is stored until it is given."""
    channel = await sync_to_async(webchat_channel)(
        agent_membership.merchant, settings={"prechat_fields": {"name": "optional", "email": "required"}}
    )
    visitor_id, token = visitor(channel)
    customer = await widget_socket(channel)
    await widget_auth(customer, token)

    client_id = str(uuid.uuid4())
    await customer.send_json_to({"type": "message", "id": client_id, "text": "hola"})
    error = await receive(customer, type_="error")
    assert error == {
        "type": "error",
        "code": "prechat_required",
        "message": "Please fill in the form above before you write to us.",
        "id": client_id,
    }
    assert await sync_to_async(Message.objects.count)() == 0
    assert await sync_to_async(ContactIdentity.objects.filter(external_id=visitor_id).exists)() is False

    contact = await sync_to_async(visitor_contact)(channel, visitor_id)  # the form ran (another request)
    contact.email = "ana@example.com"
    await sync_to_async(contact.save)()
    await customer.send_json_to({"type": "message", "id": client_id, "text": "hola"})
    ack = await receive(customer, type_="ack", skip=("event", "resumed"))
    assert ack["duplicate"] is False
    assert await sync_to_async(Message.objects.filter(conversation__contact=contact).count)() == 1
    await customer.disconnect()
