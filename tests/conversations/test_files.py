"""Stored files reach only people allowed to see them, and only as downloads a browser will not run.
Issue 12, item 2 (open /media/ and stored XSS)."""

from __future__ import annotations

import importlib
import json
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import clear_url_caches, reverse

from apps.conversations import uploads
from apps.conversations.models import Attachment
from tests.conversations.live_support import ORIGIN, visitor, visitor_contact, webchat_channel
from tests.factories.conversations import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

# What an anonymous widget visitor uploaded in the report: a page that reads the API keys with an admin's session.
PAGE = b"<html><body><script>fetch('/settings/api-keys/').then(r => r.text()).then(steal)</script></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _stored(merchant, *, name="notes.html", content=PAGE, mime="text/plain", conversation=None) -> Attachment:
    """A file as an older release stored it: under the sender's name, typed by what the sender declared."""
    message = MessageFactory(conversation=conversation or ConversationFactory(merchant=merchant))
    attachment = Attachment(merchant=merchant, message=message, filename=name, mime_type=mime, status="stored")
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    return attachment


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _routes(attachment) -> dict[str, str]:
    return {
        "api": f"/api/v1/attachments/{attachment.pk}/file/",
        "inbox": reverse("conversations:attachment", args=[attachment.pk]),
    }


# --------------------------------------------------------------------------- who may download
def test_media_urls_are_not_served_even_in_embedded_mode(client, merchant, settings):
    attachment = _stored(merchant, name="invoice.pdf", content=b"%PDF-1.4 secret", mime="application/pdf")
    settings.DEBUG = True  # the embedded mode used to add a public /media/ route
    try:
        import portal.urls

        importlib.reload(portal.urls)
        clear_url_caches()
        assert client.get(f"/media/{attachment.file.name}").status_code == 404
    finally:
        settings.DEBUG = False
        importlib.reload(portal.urls)
        clear_url_caches()


def test_anonymous_requests_get_no_file(client, merchant):
    attachment = _stored(merchant)
    routes = _routes(attachment)
    api = client.get(routes["api"])
    assert api.status_code == 401 and api.json()["error"]["code"] == "not_authenticated"
    inbox = client.get(routes["inbox"])
    assert inbox.status_code == 302 and inbox["Location"].startswith(reverse("login"))


def test_another_merchants_member_and_key_get_404(merchant, other_admin_membership, member_client, other_api):
    attachment = _stored(merchant)
    routes = _routes(attachment)
    other = member_client(other_admin_membership)
    assert other.get(routes["inbox"]).status_code == 404
    assert other.get(routes["api"]).status_code == 404
    answer = other_api.get(routes["api"])
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_a_file_not_stored_yet_is_404(merchant, api):
    pending = Attachment.objects.create(
        merchant=merchant, message=MessageFactory(conversation__merchant=merchant), source_url="x"
    )
    assert api.get(f"/api/v1/attachments/{pending.pk}/file/").status_code == 404


@pytest.mark.parametrize("route", ["api", "inbox"])
def test_members_download_their_merchants_files(merchant, agent_membership, member_client, route):
    attachment = _stored(merchant, name="invoice.pdf", content=b"%PDF-1.4 total 12", mime="application/pdf")
    response = member_client(agent_membership).get(_routes(attachment)[route])
    assert response.status_code == 200 and _body(response) == b"%PDF-1.4 total 12"
    assert response["Content-Type"] == "application/pdf"


# --------------------------------------------------------------------------- how a file is answered
@pytest.mark.parametrize("route", ["api", "inbox", "widget"])
def test_a_stored_page_is_served_as_an_opaque_download(client, merchant, api, agent_membership, member_client, route):
    channel = webchat_channel(merchant)
    visitor_id, _ = visitor(channel)
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, contact=visitor_contact(channel, visitor_id), identity=False
    )
    attachment = _stored(merchant, conversation=conversation)
    if route == "widget":
        url = uploads.widget_file_path(channel=channel, conversation_id=conversation.pk, attachment_id=attachment.pk)
        response = client.get(url)
    else:
        response = member_client(agent_membership).get(_routes(attachment)[route])
    assert response.status_code == 200 and _body(response) == PAGE
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="notes.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize(
    "content, served_as",
    [
        (b"\xff\xd8\xff\xe0 jpeg", "image/jpeg"),
        (PNG, "image/png"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7", "application/pdf"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64", "audio/mpeg"),
        (b"\xff\xfeU\x00T\x00F\x00", "application/octet-stream"),  # UTF-16 text, not an MP3 frame
        ("Pedido 1234: dos cajas, envío el lunes.\n".encode(), "text/plain"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "application/octet-stream"),
        (b"  <!DOCTYPE html><p>hi", "application/octet-stream"),
        (b"hello <script>alert(1)</script>", "application/octet-stream"),
        (b"MZ\x90\x00\x03", "application/octet-stream"),
    ],
)
def test_the_served_type_comes_from_the_bytes_not_the_name(merchant, api, content, served_as):
    attachment = _stored(merchant, name="photo.png", content=content, mime="image/png")
    response = api.get(f"/api/v1/attachments/{attachment.pk}/file/")
    assert response["Content-Type"] == served_as
    assert response["Content-Disposition"] == 'attachment; filename="photo.png"'


# --------------------------------------------------------------------------- uploads
def _widget_upload(client, channel, token, upload):
    return client.post(
        f"/inbox/widget/{channel.public_key}/upload/",
        data={"token": token, "id": str(uuid.uuid4()), "file": upload},
        HTTP_ORIGIN=ORIGIN,
    )


def test_a_page_declared_as_text_is_refused_at_upload(client, merchant, agent_membership, member_client):
    channel = webchat_channel(merchant)
    _, token = visitor(channel)
    page = SimpleUploadedFile("notes.html", PAGE, content_type="text/plain")
    response = _widget_upload(client, channel, token, page)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == [
        "“notes.html” is not really text/plain: its content does not match its type."
    ]
    conversation = ConversationFactory(merchant=merchant, channel=channel)
    agent = member_client(agent_membership)
    page = SimpleUploadedFile("notes.txt", b"\n\n<svg onload=alert(1)>", content_type="text/plain")
    agent.post(reverse("conversations:message_send", args=[conversation.pk]), {"text": "", "attachment": page})
    assert not Attachment.objects.exists()


def test_uploads_are_stored_under_generated_names(client, merchant):
    channel = webchat_channel(merchant)
    _, token = visitor(channel)
    photo = SimpleUploadedFile("../../static/portal.js", PNG, content_type="image/png")
    assert _widget_upload(client, channel, token, photo).status_code == 201
    attachment = Attachment.objects.get()
    assert re.fullmatch(r"conversations/\d{4}/\d{2}/[0-9a-f]{32}", attachment.file.name)
    assert attachment.filename == "portal.js"  # Django keeps only the base name of what the browser sent


# --------------------------------------------------------------------------- the visitor's signed links
def _visitor_file(merchant, channel):
    visitor_id, _ = visitor(channel)
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, contact=visitor_contact(channel, visitor_id), identity=False
    )
    return conversation, _stored(merchant, name="receipt.pdf", content=b"%PDF-1.4 r", conversation=conversation)


def test_a_visitors_link_opens_only_their_own_conversations_file(client, merchant):
    channel = webchat_channel(merchant)
    mine, my_file = _visitor_file(merchant, channel)
    _, their_file = _visitor_file(merchant, channel)
    own = uploads.widget_file_path(channel=channel, conversation_id=mine.pk, attachment_id=my_file.pk)
    assert client.get(own).status_code == 200
    crossed = uploads.widget_file_path(channel=channel, conversation_id=mine.pk, attachment_id=their_file.pk)
    assert client.get(crossed).status_code == 404


def test_a_visitors_link_expires(client, merchant):
    channel = webchat_channel(merchant)
    conversation, attachment = _visitor_file(merchant, channel)
    with time_machine.travel(timedelta(0), tick=False) as traveller:
        link = uploads.widget_file_path(channel=channel, conversation_id=conversation.pk, attachment_id=attachment.pk)
        traveller.shift(timedelta(seconds=uploads.FILE_MAX_AGE - 60))
        assert client.get(link).status_code == 200
        traveller.shift(timedelta(seconds=120))
        assert client.get(link).status_code == 404


def test_history_links_are_signed_for_the_visitors_conversation(client, merchant):
    channel = webchat_channel(merchant)
    visitor_id, token = visitor(channel)
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, contact=visitor_contact(channel, visitor_id), identity=False
    )
    from apps.conversations import services

    upload = SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", content_type="application/pdf")
    message = services.message_send(
        conversation=conversation, text="", attachments=[uploads.attachment_summary(upload, "document")]
    )
    uploads.attachment_store(message=message, upload=upload, media_type="document")
    response = client.post(
        f"/inbox/widget/{channel.public_key}/session/",
        data=json.dumps({"token": token}),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
    )
    (link,) = response.json()["messages"][0]["attachments"]
    assert _body(client.get(link["url"])) == b"%PDF-1.4 label"


def test_an_agents_upload_is_published_with_its_download_url(merchant, agent_membership, member_client, api):
    conversation = ConversationFactory(merchant=merchant, channel=webchat_channel(merchant))
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 total 12", content_type="application/pdf")
    response = member_client(agent_membership).post(
        reverse("conversations:message_send", args=[conversation.pk]), {"text": "", "attachment": upload}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    (message,) = api.get(f"/api/v1/conversations/{conversation.pk}/messages/").json()["results"]
    (item,) = message["attachments"]
    assert item["url"] == f"/api/v1/attachments/{attachment.pk}/file/" and item["filename"] == "invoice.pdf"
    assert _body(api.get(item["url"])) == b"%PDF-1.4 total 12"
