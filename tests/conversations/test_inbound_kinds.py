"""Every kind of item Meta really sends, through the signed webhook: what is stored, exactly.

Payloads are the repo's own fixtures (tests/fixtures/meta), written from Meta's webhook references.
"""

import json
from datetime import UTC, datetime

import pytest
from django.db import OperationalError

from apps.contacts.models import ConsentState, Contact, ContactIdentity
from apps.conversations import tasks
from apps.conversations.models import Conversation, Message, WebhookEvent, WebhookEventStatus
from apps.conversations.services.inbound import batch as inbound_batch
from apps.conversations.services.inbound import webhook_event_process
from tests.factories.contacts import ContactFactory, grant
from tests.factories.conversations import MessageFactory
from tests.samples import (
    FB_PSID,
    WA_BSUID,
    WA_BSUID_PHONE,
    WA_CUSTOMER,
    WA_NEW_NUMBER,
    WA_OUTBOUND_ID,
    WA_TEXT_ID,
    sample,
    sample_bytes,
)

pytestmark = pytest.mark.django_db


def deliver(post_webhook, channel, *names: str) -> list[WebhookEvent]:
    """POST each fixture signed, as Meta does, then process the stored events in order."""
    for name in names:
        assert post_webhook(channel, sample_bytes(name)).status_code == 200
    events = list(WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).order_by("id"))
    for event in events:
        webhook_event_process(event_id=event.pk)
        event.refresh_from_db()
    return events


def only_message(**filters) -> Message:
    return Message.objects.get(direction="inbound", **filters)


# --------------------------------------------------------------------------- content kinds
def test_shared_contacts_become_cards_and_a_readable_body(post_webhook, wa_channel):
    (event,) = deliver(post_webhook, wa_channel, "whatsapp/inbound_contacts.json")
    message = only_message()
    assert event.status == WebhookEventStatus.PROCESSED
    assert message.kind == "text"
    assert (
        message.body == "👤 Pablo Ortega Ruiz · +34 622 33 44 55 · +34 913 00 11 22\n👤 Nuria Vidal · +34 633 44 55 66"
    )
    assert message.metadata["wa_type"] == "contacts"
    assert message.metadata["contacts"] == [
        {
            "name": "Pablo Ortega Ruiz",
            "phones": [
                {"phone": "+34 622 33 44 55", "wa_id": "34622334455", "type": "CELL"},
                {"phone": "+34 913 00 11 22", "wa_id": "", "type": "WORK"},
            ],
            "emails": ["pablo.ortega@example.org"],
            "organization": "Talleres Ortega",
        },
        {
            "name": "Nuria Vidal",
            "phones": [{"phone": "+34 633 44 55 66", "wa_id": "", "type": "CELL"}],
            "emails": [],
            "organization": "",
        },
    ]
    # The shared people are data in a message, not contacts of the merchant.
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "body", "payload"),
    [
        ("whatsapp/interactive_button_reply.json", "Seguir pedido", "track_order"),
        ("whatsapp/interactive_list_reply.json", "Sábado 10:00", "slot_sat_10"),
    ],
)
def test_button_and_list_replies_store_title_and_reply_id(post_webhook, wa_channel, name, body, payload):
    deliver(post_webhook, wa_channel, name)
    message = only_message()
    assert (message.body, message.metadata["payload"]) == (body, payload)
    assert message.metadata["context"]["id"] == WA_OUTBOUND_ID


def test_flow_reply_stores_the_parsed_answers(post_webhook, wa_channel):
    (event,) = deliver(post_webhook, wa_channel, "whatsapp/interactive_nfm_reply.json")
    message = only_message()
    assert event.status == WebhookEventStatus.PROCESSED
    assert message.metadata["flow_response"] == {"delivery_day": "friday", "size": "M", "comments": "Dejar en portería"}
    assert message.metadata["flow"] == {"name": "flow", "token": "ft-20931"}
    assert message.body == "📋 Form answers\ndelivery_day: friday\nsize: M\ncomments: Dejar en portería"


def test_flow_reply_with_unreadable_json_keeps_the_message(post_webhook, wa_channel):
    data = sample("whatsapp/interactive_nfm_reply.json")
    data["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["nfm_reply"]["response_json"] = "{oops"
    post_webhook(wa_channel, data)
    webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    message = only_message()
    assert (message.body, message.metadata["flow_response"]) == ("📋 Form answers", {})


def test_order_stores_catalog_items_and_a_summary(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_order.json")
    message = only_message()
    assert message.metadata["order"] == {
        "catalog_id": "884102937465012",
        "text": "Para recoger el viernes",
        "items": [
            {"product_retailer_id": "SKU-CAM-02", "quantity": 2, "item_price": 19.5, "currency": "EUR"},
            {"product_retailer_id": "SKU-GOR-11", "quantity": 1, "item_price": 12, "currency": "EUR"},
        ],
    }
    assert message.body == "🛒 Order: SKU-CAM-02 x 2, SKU-GOR-11 x 1 — 51.00 EUR\nPara recoger el viernes"


# --------------------------------------------------------------------------- system notices
@pytest.mark.parametrize(
    "name", ["whatsapp/system_customer_changed_number.json", "whatsapp/system_user_changed_number.json"]
)
def test_number_change_moves_the_identity_and_notes_the_conversation(post_webhook, wa_channel, name):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    contact = only_message().conversation.contact
    events = deliver(post_webhook, wa_channel, name, name)  # Meta redelivers: still one contact, one note
    assert [e.status for e in events] == [WebhookEventStatus.PROCESSED] * 2
    contact.refresh_from_db()
    assert contact.phone == f"+{WA_NEW_NUMBER}"
    assert Contact.objects.count() == 1
    assert list(ContactIdentity.objects.values_list("contact_id", "kind", "external_id")) == [
        (contact.pk, "whatsapp", WA_NEW_NUMBER)
    ]
    note = Message.objects.get(kind="note")
    assert (note.author_kind, note.conversation.contact_id) == ("system", contact.pk)
    assert note.body == f"User Marta Ibáñez changed from {WA_CUSTOMER} to {WA_NEW_NUMBER}"
    # The next message from the new number is the same person in the same conversation.
    again = sample("whatsapp/inbound_text.json")
    item = again["entry"][0]["changes"][0]["value"]["messages"][0]
    item.update({"from": WA_NEW_NUMBER, "id": "wamid.after-change"})
    again["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = WA_NEW_NUMBER
    post_webhook(wa_channel, again)
    webhook_event_process(event_id=WebhookEvent.objects.latest("id").pk)
    assert Contact.objects.count() == 1 and Conversation.objects.count() == 1
    assert Message.objects.get(provider_message_id="wamid.after-change").conversation.contact_id == contact.pk


def test_number_change_to_another_contacts_number_moves_nothing(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    other = ContactFactory(merchant=wa_channel.merchant, phone=f"+{WA_NEW_NUMBER}")
    ContactIdentity.objects.create(
        merchant=wa_channel.merchant, contact=other, kind="whatsapp", external_id=WA_NEW_NUMBER
    )
    (event,) = deliver(post_webhook, wa_channel, "whatsapp/system_customer_changed_number.json")
    assert event.status == WebhookEventStatus.PROCESSED
    mine = only_message(kind="text").conversation.contact
    assert set(ContactIdentity.objects.values_list("contact_id", "external_id")) == {
        (mine.pk, WA_CUSTOMER),
        (other.pk, WA_NEW_NUMBER),
    }
    assert Message.objects.get(kind="note").conversation.contact_id == mine.pk


def test_identity_change_is_an_internal_note_and_redelivery_adds_none(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    deliver(
        post_webhook,
        wa_channel,
        "whatsapp/system_customer_identity_changed.json",
        "whatsapp/system_customer_identity_changed.json",
    )
    note = Message.objects.get(kind="note")
    assert note.body == "User's security code changed"
    assert note.metadata["system"]["type"] == "customer_identity_changed"
    assert note.metadata["identity"]["hash"] == "Kx8Pq2Zr"
    assert note.conversation == only_message(kind="text").conversation
    assert ContactIdentity.objects.get().external_id == WA_CUSTOMER


# --------------------------------------------------------------------------- reactions and edits
def _our_reply() -> Message:
    return MessageFactory(
        conversation=Conversation.objects.get(),
        direction="outbound",
        author_kind="agent",
        status="delivered",
        provider_message_id=WA_OUTBOUND_ID,
    )


def test_reaction_is_attached_to_the_message_and_removal_clears_it(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    reply = _our_reply()
    deliver(post_webhook, wa_channel, "whatsapp/reaction.json")
    reply.refresh_from_db()
    assert reply.metadata["reaction"] == {"emoji": "👍", "at": 1764144540}
    deliver(post_webhook, wa_channel, "whatsapp/reaction_removed.json")
    reply.refresh_from_db()
    assert reply.metadata["reaction"] == {"emoji": "", "at": 1764144600}
    assert Message.objects.count() == 2  # the customer's text and our reply: no message per reaction


def test_a_late_older_reaction_does_not_undo_the_newer_removal(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    reply = _our_reply()
    deliver(post_webhook, wa_channel, "whatsapp/reaction_removed.json", "whatsapp/reaction.json")
    reply.refresh_from_db()
    assert reply.metadata["reaction"] == {"emoji": "", "at": 1764144600}


def test_reaction_to_a_message_we_never_stored_adds_nothing(post_webhook, wa_channel):
    (event,) = deliver(post_webhook, wa_channel, "whatsapp/reaction.json")
    assert event.status == WebhookEventStatus.PROCESSED
    assert Message.objects.count() == 0


def test_edit_updates_the_original_and_keeps_its_history(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    deliver(post_webhook, wa_channel, "whatsapp/edit.json", "whatsapp/edit.json")  # redelivered once
    message = only_message()
    assert message.provider_message_id == WA_TEXT_ID
    assert message.body == "Buenas, ¿cuándo llega el pedido 5522?"
    assert message.metadata["original_body"] == "Buenas, ¿cuándo llega el pedido 5521?"
    assert message.metadata["edits"] == [
        {
            "id": "wamid.HBgLMzQ2MTEyMjIzMzMVAgASGBRFRFQwMDAwMDAwMDAwMDAwMDEA",
            "at": 1764144660,
            "body": "Buenas, ¿cuándo llega el pedido 5522?",
        }
    ]


def test_an_older_edit_arriving_last_stays_history(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text.json")
    newer = sample("whatsapp/edit.json")
    item = newer["entry"][0]["changes"][0]["value"]["messages"][0]
    item.update({"id": "wamid.edit-2", "timestamp": "1764144700"})
    item["edit"]["message"]["text"]["body"] = "Perdón: el pedido 5523"
    post_webhook(wa_channel, newer)
    deliver(post_webhook, wa_channel, "whatsapp/edit.json")
    message = only_message()
    assert message.body == "Perdón: el pedido 5523"
    assert [e["id"] for e in message.metadata["edits"]] == [
        "wamid.HBgLMzQ2MTEyMjIzMzMVAgASGBRFRFQwMDAwMDAwMDAwMDAwMDEA",
        "wamid.edit-2",
    ]


def test_edit_of_a_message_we_never_stored_adds_nothing(post_webhook, wa_channel):
    (event,) = deliver(post_webhook, wa_channel, "whatsapp/edit.json")
    assert event.status == WebhookEventStatus.PROCESSED
    assert Message.objects.count() == 0


# --------------------------------------------------------------------------- Messenger
def test_messenger_location_stores_coordinates_and_a_map_link(post_webhook, fb_channel):
    deliver(post_webhook, fb_channel, "messenger/inbound_location.json")
    message = only_message()
    url = "https://www.openstreetmap.org/?mlat=40.41678&mlon=-3.70379#map=17/40.41678/-3.70379"
    assert message.metadata["location"] == {"latitude": 40.41678, "longitude": -3.70379, "url": url}
    assert message.body == f"📍 (40.41678, -3.70379) {url}"
    assert message.kind == "text" and message.attachments == []


def test_messenger_delivery_watermark_alone_marks_earlier_replies_delivered(post_webhook, fb_channel):
    deliver(post_webhook, fb_channel, "messenger/inbound_text.json")
    conversation = Conversation.objects.get()

    def reply(at_ms: int, status: str) -> Message:
        return MessageFactory(
            conversation=conversation,
            direction="outbound",
            author_kind="agent",
            status=status,
            created_at=datetime.fromtimestamp(at_ms / 1000, tz=UTC),
        )

    before, read, after = reply(1764144100000, "sent"), reply(1764144150000, "read"), reply(1764144250000, "sent")
    (event,) = deliver(post_webhook, fb_channel, "messenger/delivery_watermark.json")  # watermark 1764144200000
    assert event.status == WebhookEventStatus.PROCESSED
    for message in (before, read, after):
        message.refresh_from_db()
    assert (before.status, before.delivered_at.timestamp()) == ("delivered", 1764144200)
    assert (read.status, after.status) == ("read", "sent")
    assert ContactIdentity.objects.get(kind="messenger").external_id == FB_PSID


# --------------------------------------------------------------------------- business-scoped user ids
def test_sender_known_only_by_user_id_becomes_a_contact_keyed_on_it(post_webhook, wa_channel):
    (event,) = deliver(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_only.json")
    assert event.status == WebhookEventStatus.PROCESSED
    message = only_message()
    assert message.body == "Hola, soy nueva por aquí"
    contact = message.conversation.contact
    assert (contact.name, contact.phone) == ("Marta Ibáñez", "")
    assert list(contact.identities.values_list("kind", "external_id")) == [("whatsapp_user", WA_BSUID)]


def test_a_later_message_with_number_and_user_id_links_them_to_one_contact(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_only.json")
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_and_phone.json")
    contact = Contact.objects.get()
    assert contact.phone == f"+{WA_BSUID_PHONE}"
    assert set(contact.identities.values_list("kind", "external_id")) == {
        ("whatsapp_user", WA_BSUID),
        ("whatsapp", WA_BSUID_PHONE),
    }
    assert Conversation.objects.get().messages.count() == 2


def test_marketing_stop_by_user_id_alone_reaches_the_same_contact(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_and_phone.json")
    contact = Contact.objects.get()
    grant(contact, occurred_at=datetime(2025, 11, 1, tzinfo=UTC))
    deliver(
        post_webhook,
        wa_channel,
        "whatsapp/user_preferences_stop_bsuid.json",
        "whatsapp/user_preferences_stop_bsuid.json",  # redelivered: one ledger event
    )
    assert Contact.objects.count() == 1
    state = ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"
    revoke = contact.consent_events.get(action="revoke")
    assert (revoke.source, revoke.evidence_message_id) == (
        "provider_preference",
        f"user_preferences:{WA_BSUID}:1764145500:stop",
    )


def test_stop_texted_by_a_sender_known_only_by_user_id_revokes_their_consent(post_webhook, wa_channel):
    deliver(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_only.json")
    contact = Contact.objects.get()
    grant(contact, occurred_at=datetime(2025, 11, 1, tzinfo=UTC))
    stop = sample("whatsapp/inbound_text_bsuid_only.json")
    item = stop["entry"][0]["changes"][0]["value"]["messages"][0]
    item.update({"id": "wamid.bsuid-stop", "text": {"body": "STOP"}})
    post_webhook(wa_channel, stop)
    webhook_event_process(event_id=WebhookEvent.objects.latest("id").pk)
    assert Contact.objects.count() == 1
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "revoked"
    assert contact.consent_events.get(action="revoke").source == "keyword"


# --------------------------------------------------------------------------- failures
def _with_sender(wa_id: str) -> dict:
    data = sample("whatsapp/inbound_text.json")
    value = data["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"] = value["contacts"][0]["wa_id"] = wa_id
    return data


def test_an_id_that_fails_validation_fails_once_is_kept_and_meta_gets_200(post_webhook, wa_channel, eager):
    eager.conf.task_eager_propagates = False  # as a worker runs it: a retry re-runs the task inline
    raw = json.dumps(_with_sender("not-a-number")).encode()
    response = post_webhook(wa_channel, raw)
    assert (response.status_code, response.content) == (200, b"EVENT_RECEIVED")
    run = tasks.webhook_event_process_task.apply(args=[WebhookEvent.objects.get().pk])
    assert run.successful()
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == (WebhookEventStatus.FAILED, 1)
    assert event.error.startswith(f"message {WA_TEXT_ID}: ValidationError:")
    assert "A WhatsApp id is the number's digits" in event.error
    assert event.body.encode() == raw  # kept as received, for inspection and replay
    assert Message.objects.count() == 0 and Contact.objects.count() == 0


def test_a_deterministic_failure_is_reported_as_rejected_not_retryable(post_webhook, wa_channel):
    post_webhook(wa_channel, _with_sender("not-a-number"))
    result = webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    assert result.errors == []
    assert len(result.rejected) == 1


def test_a_transient_failure_is_retried_and_then_succeeds(post_webhook, wa_channel, eager, monkeypatch):
    eager.conf.task_eager_propagates = False  # the eager retry re-runs inline; the fixture restores this
    real, calls = inbound_batch._store, []

    def flaky(channel, fresh):
        calls.append(fresh[0].event.message_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(channel, fresh)

    monkeypatch.setattr(inbound_batch, "_store", flaky)
    post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"))
    tasks.webhook_event_process_task.apply(args=[WebhookEvent.objects.get().pk])
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.error) == (WebhookEventStatus.PROCESSED, 2, "")
    assert calls == [WA_TEXT_ID, WA_TEXT_ID]
    assert only_message().provider_message_id == WA_TEXT_ID
