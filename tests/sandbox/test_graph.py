"""The fake Graph API: Meta's answers for sandbox channels, refusals for every other id, signed statuses back."""

from __future__ import annotations

import json

import pytest

from apps.conversations.models import WebhookEvent, WebhookEventStatus
from apps.conversations.services.delivery import message_deliver
from apps.meta import signature
from apps.sandbox import services
from apps.sandbox.models import Direction, SandboxMessage
from tests.factories.conversations import ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.sandbox import SandboxMessageFactory

pytestmark = pytest.mark.django_db

TEXT = {"messaging_product": "whatsapp", "to": "34611222333", "type": "text", "text": {"body": "Hola"}}


def _url(node: str, path: str = "messages") -> str:
    return f"/sandbox/graph/v21.0/{node}/{path}" if path else f"/sandbox/graph/v21.0/{node}"


def _post(client, channel, body, token=None, node=None):
    return client.post(
        _url(node or channel.phone_number_id), data=json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token or channel.access_token}",
    )  # fmt: skip


def test_whatsapp_send_is_answered_like_meta_and_recorded(client, wa_sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(client, wa_sandbox, TEXT)
    assert response.status_code == 200
    answer = response.json()
    message_id = answer["messages"][0]["id"]
    assert answer == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "34611222333", "wa_id": "34611222333"}],
        "messages": [{"id": message_id}],
    }
    assert message_id.startswith("wamid.")
    assert SandboxMessage.objects.count() == 0  # recorded by the task, never by the request (the caller's lock)
    assert len(callbacks) == 1


def test_an_inbox_reply_on_a_sandbox_channel_is_recorded_and_read_through_signed_status_webhooks(
    wa_sandbox, portal_http, eager, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(merchant=wa_sandbox.merchant, channel=wa_sandbox, identity="34611222333")
    reply = MessageFactory(
        conversation=conversation, direction="outbound", author_kind="agent", status="queued", body="On its way!"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert message_deliver(message_id=reply.pk) == "sent"
    assert [str(r.url) for r in portal_http] == [
        f"http://127.0.0.1:8000/sandbox/graph/v21.0/{wa_sandbox.phone_number_id}/messages"
    ]
    reply.refresh_from_db()
    recorded = SandboxMessage.objects.get()
    assert (recorded.channel, recorded.direction, recorded.address, recorded.kind) == (
        wa_sandbox, Direction.TO_CUSTOMER, "34611222333", "text",
    )  # fmt: skip
    assert recorded.payload["text"]["body"] == "On its way!"
    assert recorded.provider_message_id == reply.provider_message_id
    assert reply.provider_message_id.startswith("wamid.")
    # sent → delivered → read came back as webhooks the real entry verified, stored and applied
    events = list(WebhookEvent.objects.filter(channel=wa_sandbox).order_by("id"))
    statuses = [json.loads(e.body)["entry"][0]["changes"][0]["value"]["statuses"][0] for e in events]
    assert [(s["id"], s["status"], s["recipient_id"]) for s in statuses] == [
        (reply.provider_message_id, "sent", "34611222333"), (reply.provider_message_id, "delivered", "34611222333"),
        (reply.provider_message_id, "read", "34611222333"),
    ]  # fmt: skip
    assert [e.status for e in events] == [WebhookEventStatus.PROCESSED] * 3
    assert (recorded.status, reply.status) == ("read", "read")


def test_a_status_webhook_is_signed_as_meta_signs_and_verifies_with_the_real_checker(wa_sandbox, monkeypatch):
    posted = []
    monkeypatch.setattr(services, "webhook_receive", lambda **kw: posted.append(kw) or _ok())
    message = SandboxMessageFactory(channel=wa_sandbox, address="34611222333")
    services.sandbox_status_deliver(message_id=message.provider_message_id, status="delivered")
    (call,) = posted
    assert call["channel"] == wa_sandbox
    assert signature.signature_valid(body=call["body"], header=call["header"], secret=wa_sandbox.app_secret)
    assert not signature.signature_valid(body=call["body"], header=call["header"], secret="another secret")
    status = json.loads(call["body"])["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert (status["id"], status["status"]) == (message.provider_message_id, "delivered")


def _ok():
    from django.http import HttpResponse

    return HttpResponse("EVENT_RECEIVED")


def test_a_webhook_the_real_entry_refuses_is_an_error_and_stores_nothing(wa_sandbox, monkeypatch):
    monkeypatch.setattr(signature, "signature_header", lambda *, body, secret: "sha256=" + "0" * 64)
    message = SandboxMessageFactory(channel=wa_sandbox)
    with pytest.raises(services.WebhookRefused, match="403"):
        services.sandbox_status_deliver(message_id=message.provider_message_id, status="sent")
    assert WebhookEvent.objects.count() == 0
    message.refresh_from_db()
    assert message.status == ""  # not moved on: the task's retry posts it again


def test_statuses_only_move_forward(wa_sandbox, monkeypatch):
    posted = []
    monkeypatch.setattr(services, "webhook_receive", lambda **kw: posted.append(kw) or _ok())
    message = SandboxMessageFactory(channel=wa_sandbox, status="delivered")
    services.sandbox_status_deliver(message_id=message.provider_message_id, status="sent")
    services.sandbox_status_deliver(message_id=message.provider_message_id, status="delivered")
    assert posted == []


def test_template_send_keeps_the_opaque_reference_for_its_statuses(wa_sandbox, monkeypatch):
    posted = []
    monkeypatch.setattr(services, "webhook_receive", lambda **kw: posted.append(kw) or _ok())
    message = SandboxMessageFactory(channel=wa_sandbox, payload={**TEXT, "biz_opaque_callback_data": "42"})
    services.sandbox_status_deliver(message_id=message.provider_message_id, status="sent")
    status = json.loads(posted[0]["body"])["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["biz_opaque_callback_data"] == "42"


def test_messenger_send_is_answered_like_meta(client, fb_sandbox, django_capture_on_commit_callbacks):
    body = {"recipient": {"id": "7231405968472130"}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}
    with django_capture_on_commit_callbacks():
        response = client.post(
            _url(fb_sandbox.page_id) + f"?access_token={fb_sandbox.access_token}", data=json.dumps(body),
            content_type="application/json",
        )  # fmt: skip
    assert response.status_code == 200
    answer = response.json()
    assert answer == {"recipient_id": "7231405968472130", "message_id": answer["message_id"]}
    assert answer["message_id"].startswith("m_")


def test_a_real_channels_id_is_an_unknown_object(client, merchant):
    real = ChannelFactory(merchant=merchant, kind="whatsapp")
    response = _post(client, real, TEXT)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")
    assert real.phone_number_id in error["message"]


@pytest.mark.parametrize("flag", ["true", 1, "yes"])
def test_only_a_flag_that_is_exactly_true_makes_a_sandbox_channel(client, merchant, flag):
    channel = ChannelFactory(merchant=merchant, kind="whatsapp", access_token="sandbox", settings={"sandbox": flag})
    assert _post(client, channel, TEXT).status_code == 400


def test_an_unknown_id_is_an_unknown_object(client, wa_sandbox):
    response = _post(client, wa_sandbox, TEXT, node="999")
    assert (response.status_code, response.json()["error"]["code"]) == (400, 100)


def test_a_wrong_token_is_refused_like_an_invalid_oauth_token(client, wa_sandbox):
    response = _post(client, wa_sandbox, TEXT, token="EAAGnot-this-one")
    assert (response.status_code, response.json()["error"]["code"]) == (401, 190)
    assert SandboxMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**TEXT, "messaging_product": "sms"}, "messaging_product"),
        ({k: v for k, v in TEXT.items() if k != "to"}, "The parameter to is required."),
        ({**TEXT, "type": "image"}, "The parameter image is required."),
        ([], "must be a JSON object"),
    ],
)
def test_a_malformed_send_is_invalid_parameter(client, wa_sandbox, body, message):
    response = _post(client, wa_sandbox, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert message in response.json()["error"]["message"]


def test_media_upload_answers_a_media_id(client, wa_sandbox):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("a.png", b"\x89PNG\r\n", content_type="image/png")
    response = client.post(
        _url(wa_sandbox.phone_number_id, "media"), data={"messaging_product": "whatsapp", "type": "image/png",
        "file": upload}, HTTP_AUTHORIZATION="Bearer sandbox",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["id"].isdigit()


def test_phone_number_info_answers_the_connection_check(client, wa_sandbox):
    response = client.get(_url(wa_sandbox.phone_number_id, ""), HTTP_AUTHORIZATION="Bearer sandbox")
    assert response.status_code == 200
    info = response.json()
    assert (info["id"], info["verified_name"], info["quality_rating"]) == (
        wa_sandbox.phone_number_id,
        wa_sandbox.name,
        "GREEN",
    )


def test_graph_routes_are_404_with_the_sandbox_off(client, wa_sandbox, settings):
    settings.CHARLA_SANDBOX = False
    assert _post(client, wa_sandbox, TEXT).status_code == 404
    assert client.get(_url(wa_sandbox.phone_number_id, ""), HTTP_AUTHORIZATION="Bearer sandbox").status_code == 404
