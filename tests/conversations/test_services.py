"""Receive, send and deliver: the message write paths end to end against the fake Graph API."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.contacts.models import ConsentState
from apps.conversations import events
from apps.conversations.models import (
    Attachment,
    Conversation,
    LiveEvent,
    Message,
    MessageStatus,
)
from apps.conversations.policy import PolicyRefused
from apps.conversations.services import (
    attachment_fetch,
    message_deliver,
    message_receive,
    message_send,
)
from apps.conversations.services.delivery import DeliveryRetry
from apps.conversations.services.media import MediaRetry
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory, grant
from tests.factories.conversations import ChannelFactory, ConversationFactory
from tests.factories.merchants import UserFactory
from tests.fakes.graph import graph_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def wa_conversation(merchant):
    return ConversationFactory(
        merchant=merchant,
        channel__kind="whatsapp",
        contact__phone="+34600111222",
        identity="34600111222",
        last_inbound_at=timezone.now() - timedelta(hours=1),
    )


def send_and_deliver(conversation, capture, **kwargs):
    with capture(execute=False) as callbacks:
        message = message_send(conversation=conversation, **kwargs)
    assert len(callbacks) == 2  # the live event and the delivery: both wait for the commit
    return message, message_deliver(message_id=message.pk)


# --------------------------------------------------------------------------- send
def test_reply_within_window_reaches_whatsapp(fake_graph, wa_conversation, django_capture_on_commit_callbacks):
    agent = UserFactory()
    message, outcome = send_and_deliver(
        wa_conversation, django_capture_on_commit_callbacks, author=agent, text="¡Hola! Ya salió."
    )
    assert outcome == "sent"
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.sent_at is not None
    assert message.provider_message_id.startswith("wamid.FAKE")
    assert (message.author, message.author_kind, message.direction) == (agent, "agent", "outbound")
    [sent] = fake_graph.sent
    assert sent["path"] == f"/v21.0/{wa_conversation.channel.phone_number_id}/messages"
    assert sent["body"]["messaging_product"] == "whatsapp"
    assert sent["body"]["to"] == "34600111222"
    assert sent["body"]["text"]["body"] == "¡Hola! Ya salió."
    wa_conversation.refresh_from_db()
    assert wa_conversation.last_message_preview == "¡Hola! Ya salió."


def test_send_is_queued_until_delivered(wa_conversation):
    message = message_send(conversation=wa_conversation, author=UserFactory(), text="hi")
    assert message.status == MessageStatus.QUEUED and message.provider_message_id == ""


def test_refused_send_stores_nothing(wa_conversation):
    wa_conversation.last_inbound_at = timezone.now() - timedelta(hours=25)
    wa_conversation.save()
    with pytest.raises(PolicyRefused) as excinfo:
        message_send(conversation=wa_conversation, author=UserFactory(), text="late")
    assert excinfo.value.code == "outside_service_window"
    assert Message.objects.count() == 0
    assert LiveEvent.objects.count() == 0


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097])
def test_bad_text_is_a_validation_error(wa_conversation, text):
    with pytest.raises(ValidationError) as excinfo:
        message_send(conversation=wa_conversation, author=UserFactory(), text=text)
    assert "text" in excinfo.value.message_dict


def test_delivery_runs_once(fake_graph, wa_conversation):
    message = message_send(conversation=wa_conversation, author=UserFactory(), text="once")
    assert message_deliver(message_id=message.pk) == "sent"
    assert message_deliver(message_id=message.pk) == "skipped"
    assert len(fake_graph.sent) == 1


@pytest.mark.parametrize("code", [131047, 131026, 132000])
def test_permanent_error_fails_the_message_without_retry(fake_graph, wa_conversation, code):
    fake_graph.queue(400, graph_error(code, "Re-engagement message"))
    message = message_send(conversation=wa_conversation, author=UserFactory(), text="x")
    assert message_deliver(message_id=message.pk, final_attempt=False) == "failed"
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_message) == ("failed", str(code), "Re-engagement message")
    assert message.failed_at is not None
    assert len(fake_graph.sent) == 1
    last = LiveEvent.objects.order_by("-seq").first()
    assert last.kind == "message.updated" and last.payload["error"] == {
        "code": str(code),
        "message": "Re-engagement message",
    }


def test_131050_revokes_marketing_consent(fake_graph, wa_conversation):
    grant(wa_conversation.contact, occurred_at=timezone.now() - timedelta(days=1))
    fake_graph.queue(400, graph_error(131050, "User stopped marketing messages"))
    message = message_send(conversation=wa_conversation, author=UserFactory(), text="x")
    assert message_deliver(message_id=message.pk) == "failed"
    state = ConsentState.objects.get(contact=wa_conversation.contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"
    assert state.last_event.source == "provider_error"


def test_transient_error_asks_the_task_to_retry_then_fails_on_last_attempt(fake_graph, wa_conversation):
    for _ in range(6):
        fake_graph.queue(500, graph_error(2, "temporarily unavailable"))
    message = message_send(conversation=wa_conversation, author=UserFactory(), text="x")
    with pytest.raises(DeliveryRetry):
        message_deliver(message_id=message.pk, final_attempt=False)
    message.refresh_from_db()
    assert message.status == "queued" and message.send_attempts == 1
    assert message_deliver(message_id=message.pk, final_attempt=True) == "failed"
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "2")


def test_task_retries_until_sent(fake_graph, wa_conversation, eager):
    from apps.conversations.tasks import message_deliver_task

    for _ in range(4):  # more failures than the client's own 3 attempts: the task must retry
        fake_graph.queue(503, graph_error(1))
    message = message_send(conversation=wa_conversation, author=UserFactory(), text="x")
    message_deliver_task.apply(args=[message.pk], throw=False)
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(fake_graph.sent) == 5


def test_webchat_reply_is_sent_at_once_without_http(fake_graph, merchant):
    conversation = ConversationFactory(merchant=merchant, channel__kind="webchat", identity="v_abc")
    message = message_send(conversation=conversation, author=UserFactory(), text="hola")
    assert message.status == "sent" and message.sent_at is not None
    event = LiveEvent.objects.filter(kind="message.created").get()
    assert event.payload["internal"] is False and event.conversation_id == conversation.pk
    assert fake_graph.sent == []


def test_note_is_internal_and_never_sent(fake_graph, wa_conversation):
    wa_conversation.last_inbound_at = timezone.now() - timedelta(days=30)  # notes ignore the window
    wa_conversation.save()
    note = message_send(conversation=wa_conversation, author=UserFactory(), text="VIP customer", is_note=True)
    assert note.kind == "note"
    assert message_deliver(message_id=note.pk) == "skipped"
    assert LiveEvent.objects.get(kind="message.created").payload["internal"] is True
    assert fake_graph.sent == []


def test_messenger_human_agent_reply_uses_the_tag(fake_graph, merchant):
    conversation = ConversationFactory(
        merchant=merchant,
        channel__kind="messenger",
        identity="6120394857361029",
        last_inbound_at=timezone.now() - timedelta(days=2),
    )
    message = message_send(conversation=conversation, author=UserFactory(), text="Perdona la espera")
    message_deliver(message_id=message.pk)
    [sent] = fake_graph.sent
    assert sent["body"] == {
        "recipient": {"id": "6120394857361029"},
        "messaging_type": "MESSAGE_TAG",
        "message": {"text": "Perdona la espera"},
        "tag": "HUMAN_AGENT",
    }


def test_messenger_automated_after_24h_is_refused(merchant):
    conversation = ConversationFactory(
        merchant=merchant, channel__kind="messenger", last_inbound_at=timezone.now() - timedelta(days=2)
    )
    with pytest.raises(PolicyRefused) as excinfo:
        message_send(conversation=conversation, text="bot", automated=True)
    assert excinfo.value.code == "automated_outside_window"


def utility_template(merchant, **kwargs):
    return TemplateFactory(
        merchant=merchant, name="spring_sale", category="utility", body="Hola {{first_name}}", buttons=[], **kwargs
    )


def test_template_send_outside_window(fake_graph, wa_conversation):
    wa_conversation.last_inbound_at = timezone.now() - timedelta(days=3)
    wa_conversation.save()
    message = message_send(
        conversation=wa_conversation,
        template=utility_template(wa_conversation.merchant),
        template_params={"first_name": "Ana"},
        opaque="delivery:9",
    )
    assert message.kind == "template" and message.body == "Hola Ana"
    message_deliver(message_id=message.pk)
    body = fake_graph.sent[0]["body"]
    assert body["type"] == "template"
    assert body["template"]["name"] == "spring_sale" and body["template"]["language"] == {"code": "es_ES"}
    assert body["biz_opaque_callback_data"] == "delivery:9"


def test_unapproved_template_is_refused(wa_conversation):
    template = utility_template(wa_conversation.merchant, status="pending")
    with pytest.raises(PolicyRefused) as excinfo:
        message_send(conversation=wa_conversation, template=template, template_params={"first_name": "x"})
    assert excinfo.value.code == "template_not_approved"


# --------------------------------------------------------------------------- receive
def _receive(channel, contact, pid, body="hola", **kwargs):
    return message_receive(
        channel=channel,
        contact=contact,
        provider_message_id=pid,
        kind="text",
        body=body,
        attachments=[],
        received_at=timezone.now(),
        **kwargs,
    )


def test_receive_is_idempotent_per_provider_id(merchant):
    channel = ChannelFactory(merchant=merchant, kind="webchat")
    contact = ContactFactory(merchant=merchant)
    first = _receive(channel, contact, "webchat:uuid-1")
    assert first == Message.objects.get(channel=channel, provider_message_id="webchat:uuid-1")
    assert _receive(channel, contact, "webchat:uuid-1") is None
    assert Message.objects.count() == 1


def test_same_provider_id_on_another_channel_is_another_message(merchant):
    contact = ContactFactory(merchant=merchant)
    a, b = ChannelFactory(merchant=merchant, kind="webchat"), ChannelFactory(merchant=merchant, kind="webchat")
    assert _receive(a, contact, "same").channel == a
    assert _receive(b, contact, "same").channel == b


@pytest.mark.parametrize("status", ["resolved", "snoozed"])
def test_inbound_reopens_resolved_or_snoozed(merchant, status):
    conversation = ConversationFactory(
        merchant=merchant,
        channel__kind="webchat",
        status=status,
        resolved_at=timezone.now() if status == "resolved" else None,
        snoozed_until=timezone.now() + timedelta(hours=1),
    )
    message = _receive(conversation.channel, conversation.contact, "p1", visitor_id=conversation.visitor_id)
    conversation.refresh_from_db()
    assert message.conversation_id == conversation.pk
    assert conversation.status == "open" and conversation.snoozed_until is None


def test_inbound_long_after_resolution_starts_a_new_conversation(merchant):
    old = ConversationFactory(
        merchant=merchant, channel__kind="webchat", status="resolved", resolved_at=timezone.now() - timedelta(days=30)
    )
    message = _receive(old.channel, old.contact, "p1", visitor_id=old.visitor_id)
    assert message.conversation_id != old.pk
    assert Conversation.objects.filter(channel=old.channel, contact=old.contact).count() == 2


def test_one_unresolved_conversation_per_channel_contact_and_visitor(merchant):
    conversation = ConversationFactory(merchant=merchant, channel__kind="webchat")
    same = {"merchant": merchant, "channel": conversation.channel, "contact": conversation.contact}
    with pytest.raises(IntegrityError), transaction.atomic():  # the database constraint itself
        Conversation.objects.create(**same, visitor_id=conversation.visitor_id)
    assert _receive(**_at(conversation), pid="p1").conversation_id == conversation.pk
    # another browser of the same contact gets its own thread
    other = _receive(conversation.channel, conversation.contact, "p2", visitor_id="v_other_browser").conversation
    assert other.pk != conversation.pk and other.visitor_id == "v_other_browser"


def test_one_unresolved_conversation_per_channel_and_contact_on_whatsapp(merchant, wa_conversation):
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(merchant=merchant, channel=wa_conversation.channel, contact=wa_conversation.contact)
    assert wa_conversation.visitor_id == ""
    assert _receive(**_at(wa_conversation), pid="wamid.1").conversation_id == wa_conversation.pk


def _at(conversation) -> dict:
    return {"channel": conversation.channel, "contact": conversation.contact, "visitor_id": conversation.visitor_id}


def test_receive_refuses_a_contact_of_another_merchant(merchant, other_merchant):
    channel = ChannelFactory(merchant=merchant, kind="webchat")
    with pytest.raises(ValidationError):
        _receive(channel, ContactFactory(merchant=other_merchant), "p1")
    assert Message.objects.count() == 0


def test_receive_counts_unread_and_publishes_in_order(merchant):
    conversation = ConversationFactory(merchant=merchant, channel__kind="webchat")
    _receive(**_at(conversation), pid="p1", body="uno")
    _receive(**_at(conversation), pid="p2", body="dos")
    conversation.refresh_from_db()
    assert conversation.unread_count == 2 and conversation.last_message_preview == "dos"
    seqs = list(LiveEvent.objects.for_merchant(merchant).values_list("seq", flat=True))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] == 1
    caught_up = events.since(merchant_id=merchant.pk, after_seq=seqs[1])
    assert [e.seq for e in caught_up] == seqs[2:]


def test_stop_keyword_revokes_and_queues_the_automatic_reply(merchant, wa_conversation):
    grant(wa_conversation.contact, occurred_at=timezone.now() - timedelta(days=1))
    message = _receive(wa_conversation.channel, wa_conversation.contact, "wamid.stop", body="STOP")
    assert message is not None and message.metadata["keyword"] == "opt_out"
    state = ConsentState.objects.get(contact=wa_conversation.contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"
    reply = Message.objects.get(direction="outbound")
    assert reply.automated and reply.author_kind == "bot" and reply.status == "queued" and reply.body


def test_button_payload_stop_promotions_counts_as_opt_out(wa_conversation):
    grant(wa_conversation.contact, occurred_at=timezone.now() - timedelta(days=1))
    _receive(
        wa_conversation.channel,
        wa_conversation.contact,
        "wamid.btn",
        body="No more offers",
        keyword_text="STOP_PROMOTIONS",
        metadata={"payload": "STOP_PROMOTIONS"},
    )
    state = ConsentState.objects.get(contact=wa_conversation.contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"


# --------------------------------------------------------------------------- media
def _media_message(channel, media_id="777"):
    contact = ContactFactory(merchant=channel.merchant)
    return message_receive(
        channel=channel,
        contact=contact,
        provider_message_id=f"wamid.m{media_id}",
        kind="media",
        body="",
        attachments=[{"type": "image", "media_id": media_id, "mime_type": "image/png"}],
        received_at=timezone.now(),
    )


def test_media_is_fetched_into_storage(fake_graph, merchant, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    fake_graph.media["777"] = (b"\x89PNG-bytes", "image/png")
    message = _media_message(channel)
    attachment = Attachment.objects.get(message=message)
    assert attachment_fetch(attachment_id=attachment.pk) == "stored"
    attachment.refresh_from_db()
    assert attachment.status == "stored" and attachment.size == len(b"\x89PNG-bytes")
    assert attachment.file.read() == b"\x89PNG-bytes"
    message.refresh_from_db()
    assert message.attachments[0]["status"] == "stored" and message.attachments[0]["url"]
    assert attachment_fetch(attachment_id=attachment.pk) == "skipped"


def test_media_failure_is_retried_then_visible(fake_graph, merchant):
    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    message = _media_message(channel, "888")
    attachment = Attachment.objects.get(message=message)
    for _ in range(6):
        fake_graph.queue(500, graph_error(2, "media backend down"))
    with pytest.raises(MediaRetry):
        attachment_fetch(attachment_id=attachment.pk, final_attempt=False)
    attachment.refresh_from_db()
    assert attachment.status == "pending" and attachment.attempts == 1 and "media backend down" in attachment.error
    assert attachment_fetch(attachment_id=attachment.pk, final_attempt=True) == "failed"
    message.refresh_from_db()
    assert message.attachments[0]["status"] == "failed"


def test_unknown_media_fails_without_retry(fake_graph, merchant):
    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    attachment = Attachment.objects.get(message=_media_message(channel, "404"))
    assert attachment_fetch(attachment_id=attachment.pk, final_attempt=False) == "failed"


# --------------------------------------------------------------------------- widget settings
def test_widget_settings_save_keeps_settings_written_meanwhile(merchant):
    from apps.conversations.models import Channel
    from apps.conversations.services import channel_update, channel_widget_settings_update

    channel = ChannelFactory(merchant=merchant, kind="webchat", settings={"widget_title": "Old"})
    page_copy = Channel.objects.get(pk=channel.pk)  # the widget page was opened before the API call below
    channel_update(channel=channel, settings={"widget_title": "Old", "theme": "dark"})
    channel_widget_settings_update(
        channel=page_copy, allowed_origins=["https://shop.example"], widget_settings={"widget_title": "New"}
    )
    channel.refresh_from_db()
    assert channel.settings == {"widget_title": "New", "theme": "dark"}
    assert channel.allowed_origins == ["https://shop.example"]


def test_widget_settings_save_refuses_a_bad_origin_and_writes_nothing(merchant):
    from apps.conversations.services import channel_widget_settings_update

    channel = ChannelFactory(merchant=merchant, kind="webchat", allowed_origins=[], settings={"widget_title": "Old"})
    with pytest.raises(ValidationError) as excinfo:
        channel_widget_settings_update(channel=channel, allowed_origins=["shop.example"], widget_settings={"x": 1})
    assert list(excinfo.value.message_dict) == ["allowed_origins"]
    channel.refresh_from_db()
    assert (channel.allowed_origins, channel.settings) == ([], {"widget_title": "Old"})
