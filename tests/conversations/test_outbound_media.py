"""Agents' files on WhatsApp and Messenger: upload to Meta first, then send by id; failures like text."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.conversations import uploads
from apps.conversations.models import Attachment, Message
from apps.conversations.services import message_deliver, message_send
from apps.conversations.services.delivery import DeliveryRetry
from tests.factories.conversations import ConversationFactory
from tests.fakes.graph import VERSION, graph_error

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00fake-png-bytes" * 20
GIF = b"GIF89a" + b"\x01" * 40
PDF = b"%PDF-1.4 invoice"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def wa(merchant):
    return ConversationFactory(
        merchant=merchant, channel__kind="whatsapp", identity="34600111222", last_inbound_at=timezone.now()
    )


@pytest.fixture
def fb(merchant):
    return ConversationFactory(
        merchant=merchant, channel__kind="messenger", identity="7100000000001", last_inbound_at=timezone.now()
    )


def send_file(conversation, name, content, mime, text=""):
    upload = SimpleUploadedFile(name, content, content_type=mime)
    media_type = uploads.upload_validate(name=name, content_type=mime, size=len(content), head=content[:16])
    with transaction.atomic():
        message = message_send(
            conversation=conversation,
            text=text,
            attachments=[uploads.attachment_summary(upload, media_type)],
            human_agent=True,
        )
        uploads.attachment_store(message=message, upload=upload, media_type=media_type)
    return message


def test_whatsapp_image_is_uploaded_then_sent_by_id_with_its_caption(fake_graph, wa):
    message = send_file(wa, "photo.png", PNG, "image/png", text="Here is your label")
    assert message_deliver(message_id=message.pk) == "sent"
    (upload,) = fake_graph.uploads
    assert upload["path"] == f"/{VERSION}/{wa.channel.phone_number_id}/media"
    assert upload["auth"] == f"Bearer {wa.channel.access_token}"
    assert upload["fields"] == {"messaging_product": "whatsapp", "type": "image/png"}
    assert upload["files"]["file"] == ("photo.png", "image/png", PNG)
    attachment = Attachment.objects.get(message=message)
    (sent,) = fake_graph.sent
    assert sent["path"] == f"/{VERSION}/{wa.channel.phone_number_id}/messages"
    assert sent["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "34600111222",
        "type": "image",
        "image": {"id": attachment.provider_media_id, "caption": "Here is your label"},
    }
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_message_id.startswith("wamid.")


def test_whatsapp_sends_other_images_as_documents_with_their_name(fake_graph, wa):
    message = send_file(wa, "anim.gif", GIF, "image/gif")
    assert message_deliver(message_id=message.pk) == "sent"
    body = fake_graph.sent[0]["body"]
    assert (
        body["type"] == "document" and body["document"]["filename"] == "anim.gif" and "caption" not in body["document"]
    )


def test_messenger_file_goes_through_message_attachments(fake_graph, fb):
    message = send_file(fb, "invoice.pdf", PDF, "application/pdf")
    assert message_deliver(message_id=message.pk) == "sent"
    (upload,) = fake_graph.uploads
    assert upload["path"] == f"/{VERSION}/{fb.channel.page_id}/message_attachments"
    assert upload["query"] == {"access_token": [fb.channel.access_token]}
    assert json.loads(upload["fields"]["message"]) == {"attachment": {"type": "file", "payload": {"is_reusable": True}}}
    assert upload["files"]["filedata"] == ("invoice.pdf", "application/pdf", PDF)
    attachment_id = Attachment.objects.get(message=message).provider_media_id
    assert fake_graph.sent[0]["body"] == {
        "recipient": {"id": "7100000000001"},
        "messaging_type": "RESPONSE",
        "message": {"attachment": {"type": "file", "payload": {"attachment_id": attachment_id}}},
    }
    assert Message.objects.get(pk=message.pk).status == "sent"


def test_messenger_refuses_text_with_a_file_and_more_than_one_file(fb, wa):
    upload = {"type": "image", "filename": "a.png", "mime_type": "image/png", "size": 3}
    with pytest.raises(ValidationError) as excinfo:
        message_send(conversation=fb, text="look", attachments=[upload], human_agent=True)
    assert "send the text as its own message" in str(excinfo.value)
    with pytest.raises(ValidationError) as excinfo:
        message_send(conversation=wa, attachments=[upload, upload], human_agent=True)
    assert "one file per message" in str(excinfo.value)
    assert not Message.objects.exists()


def test_failed_upload_fails_the_message_with_the_reason(fake_graph, wa):
    message = send_file(wa, "photo.png", PNG, "image/png")
    fake_graph.queue(400, graph_error(131053, "Media upload error"))
    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "131053")
    assert message.error_message == "file upload failed: Media upload error"
    assert fake_graph.sent == []  # nothing was sent without the file


def test_transient_upload_failure_is_retried_and_the_media_id_reused(fake_graph, wa):
    message = send_file(wa, "photo.png", PNG, "image/png")
    for _ in range(3):
        fake_graph.queue(503, graph_error(2, "Service temporarily unavailable"))
    with pytest.raises(DeliveryRetry):
        message_deliver(message_id=message.pk, final_attempt=False)
    message.refresh_from_db()
    assert message.status == "queued" and "file upload failed" in message.error_message
    # The upload works now but the send is throttled: the next attempt must not upload again.
    fake_graph.queue(200, {"id": "MEDIA-1"})
    for _ in range(3):
        fake_graph.queue(429, graph_error(130429, "Rate limit hit"))
    with pytest.raises(DeliveryRetry):
        message_deliver(message_id=message.pk, final_attempt=False)
    assert Attachment.objects.get(message=message).provider_media_id == "MEDIA-1"
    uploads_before = len(fake_graph.uploads)
    assert message_deliver(message_id=message.pk) == "sent"
    assert len(fake_graph.uploads) == uploads_before == 4
    assert fake_graph.sent[-1]["body"]["image"] == {"id": "MEDIA-1"}


def test_media_message_without_its_file_fails_clearly(fake_graph, wa):
    message = message_send(
        conversation=wa,
        attachments=[{"type": "image", "filename": "gone.png", "mime_type": "image/png", "size": 3}],
        human_agent=True,
    )
    assert message_deliver(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.error_code == "attachment_missing" and fake_graph.uploads == [] and fake_graph.sent == []


def test_inbox_composer_accepts_files_on_whatsapp(fake_graph, wa, agent_membership, member_client):
    agent = member_client(agent_membership)
    upload = SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    response = agent.post(
        reverse("conversations:message_send", args=[wa.pk]),
        {"text": "label", "attachment": upload},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content.decode()
    message = Message.objects.get(conversation=wa)
    assert (message.kind, message.status, message.body) == ("media", "queued", "label")
    assert Attachment.objects.get(message=message).file.read() == PNG


def test_files_outside_the_window_are_refused_like_text(wa):
    wa.last_inbound_at = timezone.now() - timedelta(days=2)
    wa.save(update_fields=["last_inbound_at"])
    from apps.conversations.policy import PolicyRefused

    with pytest.raises(PolicyRefused) as excinfo:
        send_file(wa, "photo.png", PNG, "image/png")
    assert excinfo.value.code == "outside_service_window"
    assert not Message.objects.exists() and not Attachment.objects.exists()
