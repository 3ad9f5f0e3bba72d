"""The widget's HTTP side: script, session, pre-chat consent, uploads, CORS and tokens."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.contacts.models import ConsentEvent, ConsentState, ContactIdentity
from apps.conversations import services, widget
from apps.conversations.models import Attachment, Message
from tests.conversations.live_support import ORIGIN, visitor, visitor_contact, webchat_channel
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(merchant):
    return webchat_channel(
        merchant,
        settings={"prechat_enabled": True, "consent_wording": "Yes — send me Acme's offers by e-mail <3"},
    )


def post(client, channel, what, data=None, origin=ORIGIN, **extra):
    return client.post(
        f"/inbox/widget/{channel.public_key}/{what}/",
        data=json.dumps(data or {}),
        content_type="application/json",
        HTTP_ORIGIN=origin,
        **extra,
    )


def test_script_embeds_this_channels_endpoints(client, channel):
    response = client.get(f"/inbox/widget/{channel.public_key}.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert f'"socket": "ws://testserver/ws/widget/{channel.public_key}/"' in body
    assert f"/inbox/widget/{channel.public_key}/session/" in body
    assert "textContent" in body and "innerHTML" not in body
    assert client.get("/inbox/widget/unknown-key-123.js").status_code == 404


def test_cors_answers_allowed_origins_only(client, channel):
    refused = post(client, channel, "session", origin="https://evil.example")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert post(client, channel, "session", origin="").status_code == 403
    preflight = client.options(f"/inbox/widget/{channel.public_key}/session/", HTTP_ORIGIN=ORIGIN)
    assert preflight.status_code == 204
    assert (
        preflight["Access-Control-Allow-Origin"] == ORIGIN
        and "Content-Type" in preflight["Access-Control-Allow-Headers"]
    )
    allowed = post(client, channel, "session")
    assert (
        allowed.status_code == 200 and allowed["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in allowed["Vary"]
    )


def test_session_survives_page_loads_and_shows_public_history_only(client, channel, merchant):
    first = post(client, channel, "session").json()
    assert first["conversation_id"] is None and first["messages"] == [] and first["prechat_done"] is False
    assert first["config"]["consent_wording"] == "Yes — send me Acme's offers by e-mail <3"
    visitor_id = widget.visitor_token_read(token=first["token"], channel_id=channel.pk).visitor_id
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, contact=visitor_contact(channel, visitor_id), identity=False
    )
    services.message_send(conversation=conversation, text="internal only", is_note=True)
    services.message_send(conversation=conversation, text="<b>Hello</b>")
    again = post(client, channel, "session", {"token": first["token"]}).json()
    assert widget.visitor_token_read(token=again["token"], channel_id=channel.pk).visitor_id == visitor_id
    assert again["conversation_id"] == conversation.pk and again["prechat_done"] is True
    assert [(m["direction"], m["body"]) for m in again["messages"]] == [("outbound", "<b>Hello</b>")]
    assert again["last_seq"] >= 2
    # A forged token starts a new visitor instead of opening someone's conversation.
    forged = post(client, channel, "session", {"token": first["token"][:-3] + "abc"}).json()
    assert forged["conversation_id"] is None
    assert widget.visitor_token_read(token=forged["token"], channel_id=channel.pk).visitor_id != visitor_id


def test_prechat_records_the_exact_wording_as_consent_evidence(client, channel):
    _, token = visitor(channel)
    data = {"token": token, "name": "Ana <b>", "email": "ana@example.test", "consent": True,
            "page_url": "https://shop.example/pricing"}  # fmt: skip
    response = post(client, channel, "prechat", data, HTTP_USER_AGENT="Mozilla/5.0 test", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    event = ConsentEvent.objects.get()
    assert (event.channel, event.purpose, event.action, event.source) == ("email", "marketing", "grant", "widget")
    assert event.wording == "Yes — send me Acme's offers by e-mail <3"
    assert event.evidence_url == "https://shop.example/pricing"
    assert (event.ip_address, event.user_agent) == ("203.0.113.9", "Mozilla/5.0 test")
    contact = event.contact
    assert (contact.name, contact.email) == ("Ana <b>", "ana@example.test")
    assert ContactIdentity.objects.get(contact=contact).kind == "webchat"
    # A typed address proves nothing: the grant waits for the confirmation e-mail (test_double_opt_in.py).
    assert ConsentState.objects.get(contact=contact).status == "pending"


def test_prechat_errors_name_the_field_and_store_nothing(client, channel):
    _, token = visitor(channel)
    response = post(client, channel, "prechat", {"token": token, "email": "not-an-email", "consent": True})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Please enter a valid e-mail address.",
        "fields": {"email": ["Please enter a valid e-mail address."]},
    }
    response = post(client, channel, "prechat", {"token": token, "consent": True})
    assert response.json()["error"]["fields"] == {"email": ["Please enter your e-mail address."]}
    assert post(client, channel, "prechat", {"token": "forged", "name": "x"}).status_code == 401
    assert not ConsentEvent.objects.exists() and not ContactIdentity.objects.exists()
    # Without the box ticked no consent is recorded at all.
    assert post(client, channel, "prechat", {"token": token, "name": "Bo"}).status_code == 200
    assert not ConsentEvent.objects.exists()


def test_a_token_of_another_channel_is_refused(client, channel, merchant):
    other = webchat_channel(merchant)
    _, token = visitor(other)
    assert post(client, channel, "prechat", {"token": token, "name": "x"}).status_code == 401


def _upload(client, channel, token, file, client_id=None):
    return client.post(
        f"/inbox/widget/{channel.public_key}/upload/",
        data={"token": token, "id": client_id or str(uuid.uuid4()), "file": file},
        HTTP_ORIGIN=ORIGIN,
    )


def test_uploads_are_validated_stored_once_and_reach_the_conversation(client, channel, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _, token = visitor(channel)
    big = SimpleUploadedFile("huge.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024), content_type="image/png")
    response = _upload(client, channel, token, big)
    assert response.status_code == 413 and response.json()["error"] == {
        "code": "too_large", "message": "The file is too large; files may be at most 10 MB.", "fields": {},
    }  # fmt: skip
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    script = SimpleUploadedFile("x.html", b"<script>", content_type="text/html")
    response = _upload(client, channel, token, script)
    assert response.status_code == 400 and "allowed types" in response.json()["error"]["fields"]["file"][0]
    assert not Message.objects.exists()

    client_id = str(uuid.uuid4())
    PNG = b"\x89PNG\r\n\x1a\n fake"
    disguised = SimpleUploadedFile("photo.png", b"<html><script>x</script>", content_type="image/png")
    response = _upload(client, channel, token, disguised)
    assert response.status_code == 400 and "does not match its type" in response.json()["error"]["message"]
    photo = SimpleUploadedFile("photo.png", PNG, content_type="image/png")
    response = _upload(client, channel, token, photo, client_id)
    assert response.status_code == 201 and response["Access-Control-Allow-Origin"] == ORIGIN
    message = Message.objects.get()
    assert (message.direction, message.kind, message.attachments[0]["filename"]) == ("inbound", "media", "photo.png")
    assert Attachment.objects.get(message=message).file.read() == PNG
    again = _upload(client, channel, token, SimpleUploadedFile("photo.png", PNG, content_type="image/png"), client_id)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Message.objects.count() == 1 and Attachment.objects.count() == 1
    assert _upload(client, channel, "forged", photo).status_code == 401


def test_origin_matching_is_exact():
    class C:
        allowed_origins = ["https://shop.example", "http://localhost:8080"]

    assert widget.origin_allowed(channel=C, origin="https://shop.example")
    assert widget.origin_allowed(channel=C, origin="https://SHOP.example:443")
    assert not widget.origin_allowed(channel=C, origin="http://shop.example")
    assert not widget.origin_allowed(channel=C, origin="https://shop.example.evil.test")
    assert not widget.origin_allowed(channel=C, origin="http://localhost:8081")
    assert not widget.origin_allowed(channel=C, origin="null")
    assert not widget.origin_allowed(channel=C, origin=None)


def test_the_portals_own_host_is_an_allowed_origin():
    class C:
        allowed_origins = []

    assert widget.origin_allowed(channel=C, origin="https://portal.example", portal_host="portal.example")
    assert widget.origin_allowed(channel=C, origin="http://127.0.0.1:8000", portal_host="127.0.0.1:8000")
    assert not widget.origin_allowed(channel=C, origin="http://127.0.0.1:8001", portal_host="127.0.0.1:8000")
    assert not widget.origin_allowed(channel=C, origin="https://portal.example.evil", portal_host="portal.example")
    assert not widget.origin_allowed(channel=C, origin="https://portal.example")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("https://shop.example", None),
        ("https://shop.example/", None),
        ("http://localhost:8080", None),
        ("shop.example", "“shop.example” must start with https:// (or http:// for a local test site), e.g. "
         "https://shop.example."),
        ("https://", "“https://” has no host name after https://."),
        ("https://shop.example:99999", "“https://shop.example:99999” has a port that is not a number between 1 and "
         "65535."),
        ("https://shop.example/chat?x=1", "“https://shop.example/chat?x=1” is a page address; use only the origin, "
         "https://shop.example (no path)."),
        ("https://me:pw@shop.example", "“https://me:pw@shop.example” holds a user name or password; use only "
         "https://shop.example."),
    ],
)  # fmt: skip
def test_each_kind_of_bad_origin_is_named(text, problem):
    assert widget.origin_problem(text) == problem


def test_pre_chat_field_modes_and_the_older_switch():
    assert widget.prechat_fields({}) == {"name": "off", "email": "off", "phone": "off"}
    assert widget.prechat_fields({"prechat_enabled": True}) == {"name": "optional", "email": "optional", "phone": "off"}
    legacy = {"prechat_enabled": True, "prechat_email_required": True}
    assert widget.prechat_fields(legacy) == {"name": "optional", "email": "required", "phone": "off"}
    stored = {"prechat_fields": {"name": "required", "phone": "sometimes"}, "prechat_enabled": True}
    assert widget.prechat_fields(stored) == {"name": "required", "email": "off", "phone": "off"}


def test_customers_download_their_conversations_files_by_signed_path_only(
    client, channel, merchant, settings, tmp_path
):
    from apps.conversations import uploads

    settings.MEDIA_ROOT = tmp_path
    visitor_id, token = visitor(channel)
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, contact=visitor_contact(channel, visitor_id), identity=False
    )

    def send(text, is_note=False):
        upload = SimpleUploadedFile(f"{text}.pdf", b"%PDF-1.4 " + text.encode(), content_type="application/pdf")
        message = services.message_send(
            conversation=conversation, text=text, is_note=is_note,
            attachments=[uploads.attachment_summary(upload, "document")],
        )  # fmt: skip
        return uploads.attachment_store(message=message, upload=upload, media_type="document")

    invoice, secret = send("invoice"), send("internal", is_note=True)
    history = post(client, channel, "session", {"token": token}).json()["messages"]
    assert len(history) == 1
    (link,) = history[0]["attachments"]
    assert link["filename"] == "invoice.pdf"
    response = client.get(link["url"])
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 invoice"
    assert response["Content-Disposition"].startswith("attachment")
    assert client.get(link["url"][:-3] + "xx/").status_code == 404
    note_path = uploads.widget_file_path(channel=channel, conversation_id=conversation.pk, attachment_id=secret.pk)
    assert client.get(note_path).status_code == 404
    other = webchat_channel(merchant)
    forged = uploads.widget_file_path(channel=other, conversation_id=conversation.pk, attachment_id=invoice.pk).replace(
        other.public_key, channel.public_key
    )
    assert client.get(forged).status_code == 404


class CountingBody:
    """A multipart body of `file_bytes` zeros, made up as it is read, counting what the server read."""

    def __init__(self, *, token: str, file_bytes: int) -> None:
        self.head = (
            f'--B\r\nContent-Disposition: form-data; name="token"\r\n\r\n{token}\r\n'
            f'--B\r\nContent-Disposition: form-data; name="id"\r\n\r\n{uuid.uuid4()}\r\n'
            '--B\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        self.length = len(self.head) + file_bytes + len(b"\r\n--B--\r\n")
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = self.length - self.read_bytes if size is None or size < 0 else size
        size = min(size, self.length - self.read_bytes)
        start, self.read_bytes = self.read_bytes, self.read_bytes + size
        head = self.head[start : start + size]
        return head + b"0" * (size - len(head))

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _raw_upload(channel, body: CountingBody, *, declared: int):
    from django.test.client import ClientHandler

    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": f"/inbox/widget/{channel.public_key}/upload/", "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": body, "CONTENT_TYPE": "multipart/form-data; boundary=B", "CONTENT_LENGTH": str(declared),
        "HTTP_ORIGIN": ORIGIN, "REMOTE_ADDR": "127.0.0.1",
    }  # fmt: skip
    return ClientHandler(enforce_csrf_checks=False)(environ)


def test_a_150_mb_upload_is_refused_from_its_content_length_without_reading_it(channel):
    _, token = visitor(channel)
    body = CountingBody(token=token, file_bytes=150 * 1024 * 1024)
    response = _raw_upload(channel, body, declared=body.length)
    assert response.status_code == 413
    assert json.loads(response.content)["error"]["message"] == "The file is too large; files may be at most 10 MB."
    assert body.read_bytes == 0
    assert not Message.objects.exists()


def test_an_upload_stops_being_read_once_its_file_passes_the_limit(channel, monkeypatch):
    # With the up-front check widened, only the streaming handler stands between the body and the disk.
    monkeypatch.setattr("apps.core.body_limits.MULTIPART_OVERHEAD", 100 * 1024 * 1024)
    _, token = visitor(channel)
    limit, chunk = 10 * 1024 * 1024, 64 * 1024
    body = CountingBody(token=token, file_bytes=30 * 1024 * 1024)
    response = _raw_upload(channel, body, declared=body.length)
    assert response.status_code == 413
    assert limit < body.read_bytes <= limit + 3 * chunk
    assert not Message.objects.exists() and not Attachment.objects.exists()


def _asgi_upload(path: str, *, chunks: int, declared: int | None):
    """Drive portal.asgi with a body of `chunks` 1 MB chunks; what was read and what was answered."""
    import asyncio

    from portal.asgi import application

    headers = [
        (b"host", b"testserver"),
        (b"origin", ORIGIN.encode()),
        (b"content-type", b"multipart/form-data; boundary=B"),
    ]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}  # fmt: skip
    read, sent = {"bytes": 0, "chunks": 0}, []

    async def receive():
        if read["chunks"] >= chunks:
            await asyncio.sleep(3600)  # a client that has sent everything waits for the answer
        read["chunks"] += 1
        read["bytes"] += 1024 * 1024
        return {"type": "http.request", "body": b"0" * (1024 * 1024), "more_body": read["chunks"] < chunks}

    async def send(message):
        sent.append(message)

    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=30))
    return read, sent


def test_under_asgi_a_declared_150_mb_upload_is_refused_before_reading(channel):
    path = f"/inbox/widget/{channel.public_key}/upload/"
    read, sent = _asgi_upload(path, chunks=150, declared=150 * 1024 * 1024)
    assert read["bytes"] == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["message"] == "The file is too large; files may be at most 10 MB."


def test_under_asgi_a_streamed_upload_stops_being_read_past_the_limit(channel):
    path = f"/inbox/widget/{channel.public_key}/upload/"
    read, sent = _asgi_upload(path, chunks=150, declared=None)  # chunked: no Content-Length
    assert read["bytes"] == 11 * 1024 * 1024  # the first chunk past 10 MB + 64 KB
    assert sent[0]["status"] == 413 and not Message.objects.exists()


def test_under_asgi_paths_without_a_limit_are_untouched():
    from apps.core.body_limits import body_limit_for_path

    assert body_limit_for_path("/inbox/") is None
    assert body_limit_for_path("/api/v1/contacts/import/") is None
    assert body_limit_for_path("/inbox/c/1/send/") == 10 * 1024 * 1024 + 64 * 1024


@pytest.mark.parametrize(
    ("client_id", "text", "message"),
    [
        (7, "hi", "This message could not be sent; reload the page and try again."),
        ("not-a-uuid", "hi", "This message could not be sent; reload the page and try again."),
        ("8a4f3c1e-3c5b-4f7a-9a43-3d6c2b1e0f11", "   ", "Write a message first."),
        ("8a4f3c1e-3c5b-4f7a-9a43-3d6c2b1e0f11", "x" * 4097, "Messages can be at most 4096 characters."),
    ],
)
def test_the_customer_reads_plain_words_never_our_field_names(client_id, text, message):
    from apps.conversations import live

    assert live.MAX_TEXT == 4096
    assert live.widget_message_problem(client_id=client_id, text=text) == message


def test_an_upload_with_a_bad_id_says_so_without_field_names(client, channel):
    _, token = visitor(channel)
    file = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    response = _upload(client, channel, token, file, client_id="not-a-uuid")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "This message could not be sent; reload the page and try again."


def test_a_file_from_a_visitor_who_skipped_a_required_pre_chat_field_is_refused(client, merchant, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    strict = webchat_channel(merchant, settings={"prechat_fields": {"name": "required", "email": "off"}})
    _, token = visitor(strict)
    photo = SimpleUploadedFile("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    response = _upload(client, strict, token, photo)
    assert response.status_code == 400 and response.json()["error"] == {
        "code": "prechat_required", "message": "Please fill in the form above before you write to us.", "fields": {},
    }  # fmt: skip
    assert not Message.objects.exists() and not list(tmp_path.rglob("*.png"))
