"""The widget's writes (apps.conversations.services.widget), called as the views and the socket call them."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.contacts.models import ContactIdentity
from apps.conversations import selectors, widget
from apps.conversations.models import Attachment, Message, MessageDirection, MessageStatus
from apps.conversations.services import widget as widget_writes
from tests.conversations.live_support import visitor, webchat_channel
from tests.factories.conversations import MessageFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
NO_REQUEST = widget_writes.PrechatRequest(base_url="https://portal.example/", ip_address=None, user_agent="")


def _cleaned(channel, **fields) -> dict:
    return {
        "name": "",
        "email": "",
        "page_url": "",
        "consent": False,
        **widget.widget_config(channel=channel),
        **fields,
    }


def test_a_message_resent_with_the_same_client_id_is_stored_once(merchant):
    # given a visitor who sent a message
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    client_id = str(uuid.uuid4())
    first, ack = widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=client_id, text="hi"
    )
    # when the widget resends it after a reconnect
    again, resent = widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=client_id, text="hi", contact=ack["contact"]
    )
    # then one message exists and the resend is acknowledged as a duplicate of it
    assert Message.objects.filter(channel=channel).count() == 1
    assert (ack["duplicate"], resent["duplicate"]) == (False, True)
    assert again.pk == first.pk == resent["message_id"]
    assert selectors.visitor_conversation(channel=channel, visitor_id=visitor_id).pk == ack["conversation_id"]


def test_an_upload_stores_its_file_once_per_client_id(merchant):
    # given a visitor's file upload
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    client_id = str(uuid.uuid4())

    def upload() -> dict:
        photo = SimpleUploadedFile("photo.png", PNG, content_type="image/png")
        return widget_writes.widget_upload_receive(
            channel=channel, visitor_id=visitor_id, client_id=client_id, text="", upload=photo, media_type="image"
        )

    # when it is sent twice with one client id
    first, second = upload(), upload()
    # then one message carries one stored file, and the ack holds no contact object
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert "contact" not in first
    assert Attachment.objects.filter(message_id=first["message_id"]).count() == 1


def test_prechat_saves_the_visitors_name_and_email(merchant):
    # given a new visitor
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    visitor_ = widget.Visitor(channel_id=channel.pk, visitor_id=visitor_id)
    # when the pre-chat form is saved
    contact = widget_writes.widget_prechat_save(
        channel=channel,
        visitor=visitor_,
        cleaned=_cleaned(channel, name="Ana", email="ana@example.com"),
        request=NO_REQUEST,
    )
    # then the visitor is that contact, with the form's fields
    assert (contact.name, contact.email) == ("Ana", "ana@example.com")
    assert selectors.visitor_contact(channel=channel, visitor_id=visitor_id).pk == contact.pk


def test_prechat_refuses_a_second_email_and_writes_nothing(merchant):
    # given a visitor whose contact has an e-mail address
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    visitor_ = widget.Visitor(channel_id=channel.pk, visitor_id=visitor_id)
    widget_writes.widget_prechat_save(
        channel=channel, visitor=visitor_, cleaned=_cleaned(channel, email="ana@example.com"), request=NO_REQUEST
    )
    # when the form comes back with another address
    with pytest.raises(ValidationError) as exc:
        widget_writes.widget_prechat_save(
            channel=channel,
            visitor=visitor_,
            cleaned=_cleaned(channel, name="B", email="b@example.com"),
            request=NO_REQUEST,
        )
    # then it is refused on the e-mail field and the contact keeps its name and address
    assert list(exc.value.message_dict) == ["email"]
    contact = ContactIdentity.objects.get(external_id=visitor_id).contact
    assert (contact.name, contact.email) == ("", "ana@example.com")


def test_mark_seen_reads_agent_messages_up_to_the_id_only(merchant):
    # given a visitor's conversation with two sent agent messages
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    _, ack = widget_writes.widget_message_receive(
        channel=channel, visitor_id=visitor_id, client_id=str(uuid.uuid4()), text="hi"
    )
    conversation = selectors.visitor_conversation(channel=channel, visitor_id=visitor_id)
    sent = [
        MessageFactory(conversation=conversation, direction=MessageDirection.OUTBOUND, status=MessageStatus.SENT)
        for _ in range(2)
    ]
    # when the widget reports it showed the first
    read = widget_writes.widget_mark_seen(
        channel=channel, visitor_id=visitor_id, conversation_id=ack["conversation_id"], up_to_id=sent[0].pk
    )
    # then only the first counts as read
    assert read == 1
    statuses = [m.status for m in Message.objects.filter(pk__in=[m.pk for m in sent]).order_by("id")]
    assert statuses == [MessageStatus.READ, MessageStatus.SENT]
