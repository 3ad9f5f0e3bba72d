"""Meta webhooks through the real URL: handshake, signatures, storage, and processing of every sample."""

import json

import pytest

from apps.contacts.models import ConsentState, Contact, ContactIdentity
from apps.conversations.models import (
    Attachment,
    Conversation,
    Message,
    MessageStatus,
    WebhookEvent,
    WebhookEventStatus,
)
from apps.conversations.services.inbound import webhook_event_process
from apps.meta import dispatch
from apps.meta.webhooks import StatusUpdate, TemplateReview
from tests.conversations.conftest import sign
from tests.factories.conversations import ChannelFactory, MessageFactory
from tests.fakes.graph import graph_error
from tests.samples import (
    FB_PAGE_ID,
    FB_PSID,
    FB_TEXT_MID,
    SAMPLES,
    WA_CUSTOMER,
    WA_CUSTOMER_NAME,
    WA_OUTBOUND_ID,
    WA_PHONE_NUMBER_ID,
    WA_TEMPLATE,
    WA_TEXT_ID,
    WA_TEXT_TIMESTAMP,
    sample,
    sample_bytes,
)

pytestmark = pytest.mark.django_db


def process_all():
    for event_id in WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).values_list("id", flat=True):
        webhook_event_process(event_id=event_id)


# --------------------------------------------------------------------------- handshake
def test_handshake_echoes_challenge_as_plain_text(client, wa_channel):
    url = f"/webhooks/whatsapp/{wa_channel.pk}/"
    response = client.get(
        url, {"hub.mode": "subscribe", "hub.verify_token": wa_channel.verify_token, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "TOKEN", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "TOKEN"},
    ],
)
def test_handshake_refused(client, wa_channel, params):
    params = {k: (wa_channel.verify_token if v == "TOKEN" else v) for k, v in params.items()}
    response = client.get(f"/webhooks/whatsapp/{wa_channel.pk}/", params)
    assert response.status_code == 403
    assert response.content != b"1"


def test_handshake_with_another_channels_token_is_refused(client, wa_channel, merchant):
    other = ChannelFactory(merchant=merchant, kind="whatsapp")
    response = client.get(
        f"/webhooks/whatsapp/{wa_channel.pk}/",
        {"hub.mode": "subscribe", "hub.verify_token": other.verify_token, "hub.challenge": "7"},
    )
    assert response.status_code == 403


def test_wrong_kind_or_unknown_channel_is_404(client, wa_channel):
    assert client.get(f"/webhooks/messenger/{wa_channel.pk}/").status_code == 404
    assert client.post("/webhooks/whatsapp/999999/", data=b"{}", content_type="application/json").status_code == 404


# --------------------------------------------------------------------------- signatures
def test_signed_sample_is_stored_raw_and_answered_200(post_webhook, wa_channel):
    raw = sample_bytes("whatsapp/inbound_text.json")
    response = post_webhook(wa_channel, raw)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.body.encode() == raw
    assert event.channel == wa_channel and event.merchant == wa_channel.merchant
    assert event.status == WebhookEventStatus.RECEIVED
    assert Message.objects.count() == 0  # no per-item work in the request


def test_csrf_is_not_required(wa_channel):
    from django.test import Client

    raw = sample_bytes("whatsapp/inbound_text.json")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/webhooks/whatsapp/{wa_channel.pk}/",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(raw, wa_channel.app_secret),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        ("", 401),
        ("sha256=" + "0" * 64, 403),
        ("sha1=abc", 403),
        ("FORGED", 403),
    ],
)
def test_forged_or_missing_signature_stores_nothing(post_webhook, wa_channel, signature, status):
    response = post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"), signature=signature)
    assert response.status_code == status
    assert WebhookEvent.objects.count() == 0


def test_signature_with_another_secret_is_refused(post_webhook, wa_channel):
    response = post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"), secret="not-the-app-secret")
    assert response.status_code == 403
    assert WebhookEvent.objects.count() == 0


def test_signature_over_reserialised_json_is_refused(post_webhook, wa_channel):
    raw = sample_bytes("whatsapp/inbound_text.json")
    reserialised = json.dumps(json.loads(raw)).encode()  # different bytes, same JSON
    assert reserialised != raw
    response = post_webhook(wa_channel, raw, signature=sign(reserialised, wa_channel.app_secret))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "body is not JSON within bounds: The JSON document is malformed"),
        (b"[1, 2]", "body is not a JSON object"),
        (b"\xff\xfe", "body is not JSON within bounds: The JSON document is not UTF-8."),
        (b'{"a": "\x00"}', "body is not JSON within bounds: The JSON document is malformed"),
    ],
)
def test_malformed_body_with_valid_signature_is_kept_ignored_and_never_processed(
    post_webhook, wa_channel, raw, reason, django_capture_on_commit_callbacks
):
    # Answered 200: Meta would retry a refused body for days and then disable the subscription.
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_webhook(wa_channel, raw)
    assert (response.status_code, response.content) == (200, b"EVENT_RECEIVED")
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEventStatus.IGNORED and event.error.startswith(reason)
    assert "\x00" not in event.body
    assert callbacks == []  # nothing enqueued


def test_post_enqueues_processing_after_commit(
    post_webhook, wa_channel, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    from apps.conversations import tasks

    monkeypatch.setattr(tasks.webhook_event_process_task, "delay", lambda event_id: queued.append(event_id))
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"))
    assert queued == [WebhookEvent.objects.get().pk]


# --------------------------------------------------------------------------- processing
def test_inbound_text_creates_contact_conversation_and_message(post_webhook, wa_channel):
    post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"))
    process_all()
    message = Message.objects.get()
    assert message.body == "Buenas, ¿cuándo llega el pedido 5521?"
    assert message.direction == "inbound" and message.status == MessageStatus.RECEIVED
    assert message.provider_message_id == WA_TEXT_ID
    assert message.created_at.timestamp() == WA_TEXT_TIMESTAMP
    contact = message.conversation.contact
    assert contact.name == WA_CUSTOMER_NAME
    assert contact.phone == f"+{WA_CUSTOMER}"
    assert ContactIdentity.objects.filter(contact=contact, kind="whatsapp", external_id=WA_CUSTOMER).exists()
    conversation = message.conversation
    assert conversation.status == "open" and conversation.unread_count == 1
    assert conversation.last_inbound_at == message.created_at
    assert conversation.last_message_preview == message.body
    assert WebhookEvent.objects.get().status == WebhookEventStatus.PROCESSED


def test_duplicate_delivery_stores_the_message_once(post_webhook, wa_channel):
    raw = sample_bytes("whatsapp/inbound_text.json")
    post_webhook(wa_channel, raw)
    post_webhook(wa_channel, raw)
    process_all()
    assert WebhookEvent.objects.count() == 2
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_reprocessing_the_same_event_is_harmless(post_webhook, wa_channel):
    post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"))
    event = WebhookEvent.objects.get()
    first = webhook_event_process(event_id=event.pk)
    second = webhook_event_process(event_id=event.pk)
    assert (first.messages, first.duplicates) == (1, 0)
    assert (second.messages, second.duplicates) == (0, 1)
    assert Message.objects.count() == 1


def test_every_entry_change_and_item_is_processed(post_webhook, wa_channel):
    data = json.loads(sample_bytes("whatsapp/inbound_text.json"))
    entry = data["entry"][0]
    value = entry["changes"][0]["value"]
    second_message = dict(value["messages"][0], id="wamid.SECOND", text={"body": "segundo"})
    value["messages"].append(second_message)
    other_value = json.loads(json.dumps(value))
    other_value["contacts"] = [{"profile": {"name": "Pepe"}, "wa_id": "34600999888"}]
    other_value["messages"] = [dict(value["messages"][0], id="wamid.THIRD", **{"from": "34600999888"})]
    entry["changes"].append({"field": "messages", "value": other_value})
    data["entry"].append(
        {
            "id": "x",
            "changes": [
                {
                    "field": "messages",
                    "value": dict(other_value, messages=[dict(other_value["messages"][0], id="wamid.FOURTH")]),
                }
            ],
        }
    )
    post_webhook(wa_channel, data)
    process_all()
    assert set(Message.objects.values_list("provider_message_id", flat=True)) == {
        value["messages"][0]["id"],
        "wamid.SECOND",
        "wamid.THIRD",
        "wamid.FOURTH",
    }
    assert Conversation.objects.count() == 2
    assert Contact.objects.get(phone="+34600999888").name == "Pepe"


def test_inbound_image_records_pending_media(post_webhook, wa_channel):
    post_webhook(wa_channel, sample_bytes("whatsapp/inbound_image.json"))
    process_all()
    message = Message.objects.get()
    assert message.kind == "media" and message.body == "El paquete vino abierto"
    assert message.attachments[0]["media_id"] == "1300498765432101"
    attachment = Attachment.objects.get()
    assert attachment.status == "pending" and attachment.provider_media_id == "1300498765432101"
    assert attachment.mime_type == "image/jpeg"


def _wa_item(item: dict, wa_id=WA_CUSTOMER) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000001", "phone_number_id": WA_PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": "wamid." + item["type"], "timestamp": "1764057600", **item}],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


@pytest.mark.parametrize(
    ("item", "kind", "body", "metadata_key"),
    [
        ({"type": "audio", "audio": {"id": "55", "mime_type": "audio/ogg; codecs=opus"}}, "media", "", None),
        ({"type": "video", "video": {"id": "56", "mime_type": "video/mp4", "caption": "mira"}}, "media", "mira", None),
        (
            {"type": "document", "document": {"id": "57", "mime_type": "application/pdf", "filename": "f.pdf"}},
            "media",
            "",
            None,
        ),
        (
            {
                "type": "location",
                "location": {"latitude": 40.4, "longitude": -3.7, "name": "Tienda", "address": "Gran Vía 1"},
            },
            "text",
            "📍 Tienda · Gran Vía 1 (40.4, -3.7)",
            "location",
        ),
        (
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Sí"}},
            },
            "text",
            "Sí",
            "interactive",
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r2", "title": "Madrid", "description": "x"},
                },
            },
            "text",
            "Madrid",
            "interactive",
        ),
        ({"type": "button", "button": {"payload": "MORE_INFO", "text": "Más info"}}, "text", "Más info", "payload"),
        ({"type": "unsupported", "errors": [{"code": 131051}]}, "text", "", "unsupported"),
        ({"type": "brand_new_kind", "brand_new_kind": {"x": 1}}, "text", "", "unsupported"),
    ],
)
def test_message_kinds(post_webhook, wa_channel, item, kind, body, metadata_key):
    post_webhook(wa_channel, _wa_item(item))
    process_all()
    message = Message.objects.get()
    assert (message.kind, message.body) == (kind, body)
    if metadata_key:
        assert metadata_key in message.metadata
    if kind == "media":
        assert Attachment.objects.get().provider_media_id == item[item["type"]]["id"]
    assert WebhookEvent.objects.get().status == WebhookEventStatus.PROCESSED


def test_unknown_field_is_kept_and_ignored(post_webhook, wa_channel):
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "account_alerts", "value": {"x": 1}}]}],
    }
    response = post_webhook(wa_channel, payload)
    assert response.status_code == 200
    process_all()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEventStatus.PROCESSED
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"entry": "nope"},
        {"entry": [{"changes": [{"value": None}]}]},
        {"x": 1},
        {"entry": [{"changes": [{"field": "messages", "value": {"messages": [1]}}]}]},
    ],
)
def test_odd_shapes_never_crash(post_webhook, wa_channel, payload):
    assert post_webhook(wa_channel, payload).status_code == 200
    process_all()
    assert WebhookEvent.objects.get().status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED)


def test_a_malformed_message_is_noted_on_the_event_and_the_good_one_beside_it_is_stored(post_webhook, wa_channel):
    body = sample("whatsapp/inbound_text.json")
    messages = body["entry"][0]["changes"][0]["value"]["messages"]
    messages.insert(0, {"from": WA_CUSTOMER, "type": "text", "text": {"body": "no id"}})
    post_webhook(wa_channel, body)
    result = webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    event = WebhookEvent.objects.get()
    assert (result.messages, result.errors, result.rejected) == (1, [], [])
    assert (event.status, event.attempts) == (WebhookEventStatus.PROCESSED, 1)  # processed: never retried
    assert event.error == "entry 0: changes[0].value.messages[0]: a message without an id"
    assert list(Message.objects.values_list("provider_message_id", flat=True)) == [WA_TEXT_ID]


# --------------------------------------------------------------------------- statuses
def _outbound(channel, provider_id=WA_OUTBOUND_ID, status="sent"):
    return MessageFactory(
        conversation__merchant=channel.merchant,
        conversation__channel=channel,
        direction="outbound",
        author_kind="agent",
        status=status,
        provider_message_id=provider_id,
    )


@pytest.mark.parametrize(
    ("order", "final"),
    [
        (["sent", "delivered", "read"], "read"),
        (["read", "delivered", "sent"], "read"),
        (["delivered", "sent"], "delivered"),
        (["sent", "failed"], "failed"),
        (["read", "failed"], "read"),
        (["delivered", "failed"], "delivered"),
    ],
)
def test_statuses_never_move_backwards(post_webhook, wa_channel, order, final):
    message = _outbound(wa_channel)
    for status in order:
        post_webhook(wa_channel, sample_bytes(f"whatsapp/status_{status}.json"))
    process_all()
    message.refresh_from_db()
    assert message.status == final
    if "delivered" in order:
        assert message.delivered_at is not None  # a late "delivered" still records its time
    if final == "failed":
        assert message.error_code == "131047"
        assert "24 hours" in message.error_message


def test_failed_status_131050_revokes_marketing_consent(post_webhook, wa_channel):
    from datetime import UTC, datetime

    from tests.factories.contacts import grant

    message = _outbound(wa_channel)
    grant(message.conversation.contact, occurred_at=datetime(2025, 1, 1, tzinfo=UTC))
    data = json.loads(sample_bytes("whatsapp/status_failed.json"))
    data["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] = 131050
    post_webhook(wa_channel, data)
    post_webhook(wa_channel, data)  # redelivered: the status does not change again, no second ledger event
    process_all()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "131050")
    contact = message.conversation.contact
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "revoked"
    assert contact.consent_events.filter(action="revoke", source="provider_error").count() == 1


def test_status_for_unknown_id_goes_to_handlers(post_webhook, wa_channel, monkeypatch):
    calls = []

    def handler(update, *, channel):
        calls.append((update, channel))
        return True

    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [handler])
    post_webhook(wa_channel, sample_bytes("whatsapp/status_failed.json"))
    process_all()
    assert len(calls) == 1
    update, channel = calls[0]
    assert update.status == "failed" and update.error_code == "131047"
    assert channel == wa_channel
    assert update.message_id == WA_OUTBOUND_ID
    assert update.opaque == "reply:conv-4471"  # biz_opaque_callback_data, as we sent it


def test_unmatched_status_is_reported_for_retry(post_webhook, wa_channel, monkeypatch):
    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [])
    post_webhook(wa_channel, sample_bytes("whatsapp/status_sent.json"))
    result = webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    assert len(result.unmatched_statuses) == 1


def test_status_retry_matches_once_the_send_committed(wa_channel, monkeypatch):
    from apps.conversations.services.inbound import status_retry

    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [])
    item = json.loads(sample_bytes("whatsapp/status_delivered.json"))["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status_retry(channel_id=wa_channel.pk, item=item) is False
    message = _outbound(wa_channel)
    assert status_retry(channel_id=wa_channel.pk, item=item) is True
    message.refresh_from_db()
    assert message.status == "delivered"


def test_status_of_another_channels_message_is_not_applied(post_webhook, wa_channel, merchant):
    other = ChannelFactory(merchant=merchant, kind="whatsapp")
    message = _outbound(other)
    post_webhook(wa_channel, sample_bytes("whatsapp/status_read.json"))
    process_all()
    message.refresh_from_db()
    assert message.status == "sent"


# --------------------------------------------------------------------------- preferences and templates
def test_user_preferences_stop_revokes_marketing_consent(post_webhook, wa_channel):
    from tests.factories.contacts import ContactFactory, grant

    contact = ContactFactory(merchant=wa_channel.merchant, phone=f"+{WA_CUSTOMER}")
    ContactIdentity.objects.create(
        merchant=wa_channel.merchant, contact=contact, kind="whatsapp", external_id=WA_CUSTOMER
    )
    from datetime import UTC, datetime

    grant(contact, occurred_at=datetime(2025, 11, 1, tzinfo=UTC))  # before the sample's stop (1764145000)
    raw = sample_bytes("whatsapp/user_preferences_stop.json")
    post_webhook(wa_channel, raw)
    post_webhook(wa_channel, raw)  # Meta redelivers: one ledger event only
    process_all()
    state = ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"
    revokes = contact.consent_events.filter(action="revoke")
    assert revokes.count() == 1
    assert revokes.get().source == "provider_preference"


def test_inbound_stop_text_revokes_marketing_consent_end_to_end(post_webhook, wa_channel):
    """STOP cannot be switched off quietly: the keyword engine is imported where messages are received."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories.contacts import ContactFactory, grant

    contact = ContactFactory(merchant=wa_channel.merchant, phone="+" + WA_CUSTOMER)
    ContactIdentity.objects.create(
        merchant=wa_channel.merchant, contact=contact, kind="whatsapp", external_id=WA_CUSTOMER
    )
    grant(contact, occurred_at=timezone.now() - timedelta(days=1))
    now = str(int(timezone.now().timestamp()))  # inside the service window: the confirmation may be sent
    item = {"type": "text", "text": {"body": "Stop!"}, "timestamp": now}
    assert post_webhook(wa_channel, _wa_item(item)).status_code == 200
    process_all()
    state = ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"
    assert contact.consent_events.filter(action="revoke").count() == 1
    inbound = Message.objects.get(direction="inbound")
    assert (inbound.body, inbound.metadata["keyword"]) == ("Stop!", "opt_out")
    reply = Message.objects.get(direction="outbound")
    assert reply.automated and reply.body.startswith("You will no longer receive marketing messages")


def test_user_preferences_resume_grants(post_webhook, wa_channel):
    data = json.loads(sample_bytes("whatsapp/user_preferences_stop.json"))
    pref = data["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    post_webhook(wa_channel, data)
    pref.update(value="resume", timestamp=1764146000)
    post_webhook(wa_channel, data)
    process_all()
    contact = Contact.objects.get(phone=f"+{WA_CUSTOMER}")
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "granted"


def test_template_status_is_handed_to_registered_handlers(post_webhook, wa_channel, monkeypatch):
    calls = []
    monkeypatch.setitem(dispatch._subscribers, TemplateReview, [lambda review, **kw: calls.append((review, kw))])
    post_webhook(wa_channel, sample_bytes("whatsapp/template_status_approved.json"))
    process_all()
    assert len(calls) == 1
    review, context = calls[0]
    assert (review.name, review.language, review.event, review.reason) == (
        WA_TEMPLATE[0],
        "es_ES",
        "APPROVED",
        "NONE",
    )
    assert context["merchant"] == wa_channel.merchant
    assert review.raw["message_template_id"] == 1790665019230941


def test_failing_handler_marks_event_failed_but_other_items_go_on(post_webhook, wa_channel, monkeypatch):
    def broken(review, **context):
        raise RuntimeError("boom")

    monkeypatch.setitem(dispatch._subscribers, TemplateReview, [broken])
    data = json.loads(sample_bytes("whatsapp/template_status_approved.json"))
    inbound = json.loads(sample_bytes("whatsapp/inbound_text.json"))
    data["entry"].append(inbound["entry"][0])
    post_webhook(wa_channel, data)
    process_all()
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEventStatus.FAILED and "boom" in event.error
    assert Message.objects.count() == 1


# --------------------------------------------------------------------------- messenger
def test_messenger_inbound_text(post_webhook, fb_channel):
    post_webhook(fb_channel, sample_bytes("messenger/inbound_text.json"))
    process_all()
    message = Message.objects.get()
    assert message.body == "¿A qué hora abrís el sábado?"
    assert message.provider_message_id == FB_TEXT_MID
    assert message.created_at.timestamp() == pytest.approx(1764144000.456)
    assert ContactIdentity.objects.filter(kind="messenger", external_id=FB_PSID).exists()


def test_messenger_echo_delivery_and_read(post_webhook, fb_channel):
    post_webhook(fb_channel, sample_bytes("messenger/inbound_text.json"))
    process_all()
    conversation = Conversation.objects.get()
    sent = MessageFactory(
        conversation=conversation,
        direction="outbound",
        author_kind="agent",
        status="sent",
        provider_message_id="m_OUT1",
    )
    psid, page = FB_PSID, FB_PAGE_ID
    events = {
        "object": "page",
        "entry": [
            {
                "id": page,
                "time": 1,
                "messaging": [
                    {
                        "sender": {"id": page},
                        "recipient": {"id": psid},
                        "timestamp": 1,
                        "message": {"mid": "m_ECHO", "is_echo": True, "text": "echo"},
                    },
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page},
                        "timestamp": 2,
                        "delivery": {"mids": ["m_OUT1"], "watermark": 2},
                    },
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page},
                        "timestamp": 9999999999999,
                        "read": {"watermark": 9999999999999},
                    },
                    {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": 3, "optin": {"ref": "x"}},
                ],
            }
        ],
    }
    post_webhook(fb_channel, events)
    process_all()
    sent.refresh_from_db()
    assert sent.status == "read" and sent.delivered_at is not None
    assert Message.objects.filter(provider_message_id="m_ECHO").count() == 0


def test_messenger_postback_and_attachment(post_webhook, fb_channel):
    psid, page = FB_PSID, FB_PAGE_ID
    events = {
        "object": "page",
        "entry": [
            {
                "id": page,
                "time": 1,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page},
                        "timestamp": 1764057600000,
                        "postback": {"title": "Empezar", "payload": "GET_STARTED", "mid": "m_PB"},
                    },
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page},
                        "timestamp": 1764057601000,
                        "message": {
                            "mid": "m_IMG",
                            "attachments": [{"type": "image", "payload": {"url": "https://cdn.example/x.jpg"}}],
                        },
                    },
                ],
            }
        ],
    }
    post_webhook(fb_channel, events)
    process_all()
    postback = Message.objects.get(provider_message_id="m_PB")
    assert postback.body == "Empezar" and postback.metadata["payload"] == "GET_STARTED"
    image = Message.objects.get(provider_message_id="m_IMG")
    assert image.kind == "media"
    assert Attachment.objects.get(message=image).source_url == "https://cdn.example/x.jpg"


def test_every_sample_is_processed_without_errors(post_webhook, wa_channel, fb_channel, monkeypatch):
    # Only this app's processing is under test here; other apps' handlers have their own tests.
    monkeypatch.setitem(dispatch._subscribers, TemplateReview, [])
    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [])
    for path in sorted(SAMPLES.rglob("*.json")):
        channel = fb_channel if path.parent.name == "messenger" else wa_channel
        assert post_webhook(channel, path.read_bytes()).status_code == 200, path
    process_all()
    assert not WebhookEvent.objects.exclude(status=WebhookEventStatus.PROCESSED).exists()
    # 9 WhatsApp messages and 2 Messenger ones; the edit and the reactions point at messages these files
    # never store, so they add nothing; the 3 system notices are internal notes.
    inbound = Message.objects.filter(direction="inbound")
    assert inbound.exclude(kind="note").count() == 11
    assert inbound.filter(kind="note", author_kind="system").count() == 3
    assert not inbound.filter(body="").exists()


# --------------------------------------------------------------------------- messenger profile names
def test_messenger_sender_gets_the_profile_name_once(post_webhook, fb_channel, fake_graph):
    from django.core.cache import cache

    fake_graph.profiles[FB_PSID] = {"first_name": "Lucía", "last_name": "Gómez"}
    post_webhook(fb_channel, sample_bytes("messenger/inbound_text.json"))
    process_all()
    identity = ContactIdentity.objects.select_related("contact").get(kind="messenger")
    assert identity.contact.name == "Lucía Gómez"
    (get,) = fake_graph.gets
    assert get["path"] == f"/v21.0/{FB_PSID}"
    assert get["query"] == {"fields": ["first_name,last_name"], "access_token": [fb_channel.access_token]}
    cache.delete(f"conversations:fb-profile:{fb_channel.public_key}:{FB_PSID}")
    again = json.loads(sample_bytes("messenger/inbound_text.json"))
    again["entry"][0]["messaging"][0]["message"]["mid"] = "m_second"
    post_webhook(fb_channel, again)
    process_all()
    assert len(fake_graph.gets) == 1  # a named contact is not asked about again


def test_messenger_profile_failure_keeps_the_message(post_webhook, fb_channel, fake_graph):
    fake_graph.queue(400, graph_error(100, "Unsupported get request"))
    post_webhook(fb_channel, sample_bytes("messenger/inbound_text.json"))
    process_all()
    assert Message.objects.get().body == "¿A qué hora abrís el sábado?"
    assert ContactIdentity.objects.select_related("contact").get(kind="messenger").contact.name == ""
    # The next message does not ask again within the hour (a missing permission must not cost a call each time).
    again = json.loads(sample_bytes("messenger/inbound_text.json"))
    again["entry"][0]["messaging"][0]["message"]["mid"] = "m_second"
    post_webhook(fb_channel, again)
    process_all()
    assert len(fake_graph.gets) == 1 and Message.objects.count() == 2


def test_messenger_profile_unreachable_keeps_the_message(post_webhook, fb_channel):
    post_webhook(fb_channel, sample_bytes("messenger/inbound_text.json"))
    process_all()
    assert Message.objects.get().status == "received"
