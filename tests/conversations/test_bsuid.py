"""People known by a WhatsApp business-scoped user id (Meta's 2026 usernames change), end to end.

Replies reach Meta with the user id in `recipient` (and no `to`) when the contact has no number; a number,
when known, wins. Statuses of such sends, which name the person by `recipient_user_id` alone, update the
message. After an erasure, what Meta reports about the person (a preference, a notice) brings nobody back.
"""

import logging

import pytest
from django.utils import timezone

from apps.contacts.models import ConsentEvent, Contact
from apps.conversations.models import Message, WebhookEvent, WebhookEventStatus
from apps.conversations.services.inbound import webhook_event_process
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory
from tests.factories.conversations import ConversationFactory
from tests.samples import WA_BSUID, WA_BSUID_PHONE, WA_CUSTOMER, sample

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def process() -> list[WebhookEvent]:
    events = list(WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).order_by("id"))
    for event in events:
        webhook_event_process(event_id=event.pk)
        event.refresh_from_db()
    return events


def write_now(post_webhook, channel, name: str) -> Contact:
    """The customer writes (fixture `name`) just now, so the service window is open."""
    payload = sample(name)
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(int(timezone.now().timestamp()))
    assert post_webhook(channel, payload).status_code == 200
    process()
    return Contact.objects.get(erased_at=None)


@pytest.fixture
def post_message(api, fake_graph, eager, django_capture_on_commit_callbacks):
    """post_message(conversation, body) -> API response; delivery runs inline, against the fake Graph API."""

    def post(conversation, body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(f"/api/v1/conversations/{conversation.pk}/messages/", body, format="json")

    return post


@pytest.fixture
def reply(post_message):
    """reply(contact, text) -> the outbound Message, sent."""

    def send(contact: Contact, text: str) -> Message:
        response = post_message(contact.conversations.get(), {"text": text})
        assert response.status_code == 201, response.content
        return Message.objects.get(pk=response.json()["id"])

    return send


def user_id_only_conversation(merchant, channel, **fields):
    contact = ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=contact, kind="whatsapp_user", external_id=WA_BSUID)
    return ConversationFactory(merchant=merchant, channel=channel, contact=contact, identity=False, **fields)


# --------------------------------------------------------------------------- replies and statuses
def test_a_reply_to_a_contact_known_only_by_user_id_goes_in_recipient_without_to(
    post_webhook, wa_channel, reply, fake_graph
):
    contact = write_now(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_only.json")
    message = reply(contact, "Hola Marta, ¿en qué te ayudamos?")
    [sent] = fake_graph.sent
    assert sent["path"] == f"/v21.0/{wa_channel.phone_number_id}/messages"
    assert sent["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "recipient": WA_BSUID,
        "type": "text",
        "text": {"preview_url": False, "body": "Hola Marta, ¿en qué te ayudamos?"},
    }
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("sent", "")
    assert message.provider_message_id.startswith("wamid.FAKE")


def test_a_contact_with_number_and_user_id_is_addressed_by_number(post_webhook, wa_channel, reply, fake_graph):
    contact = write_now(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_and_phone.json")
    reply(contact, "Gracias")
    [sent] = fake_graph.sent
    assert (sent["body"]["to"], "recipient" in sent["body"]) == (WA_BSUID_PHONE, False)


def test_a_template_may_start_the_conversation_with_a_user_id_only_contact(
    merchant, wa_channel, post_message, fake_graph
):
    conversation = user_id_only_conversation(merchant, wa_channel, last_inbound_at=None)
    template = TemplateFactory(merchant=merchant, name="order_ready", category="utility", body="Ya está", buttons=[])
    response = post_message(conversation, {"template": {"id": template.pk}})
    assert response.status_code == 201, response.content
    [sent] = fake_graph.sent
    assert (sent["body"]["recipient"], "to" in sent["body"], sent["body"]["type"]) == (WA_BSUID, False, "template")
    assert Message.objects.get(pk=response.json()["id"]).status == "sent"


def test_a_status_naming_only_the_user_id_updates_the_reply(post_webhook, wa_channel, reply):
    contact = write_now(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_only.json")
    message = reply(contact, "Hola")
    status = sample("whatsapp/status_read_bsuid.json")
    item = status["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert "recipient_id" not in item  # Meta names the person by user id alone
    item.update(id=message.provider_message_id, timestamp=str(int(timezone.now().timestamp())))
    assert post_webhook(wa_channel, status).status_code == 200
    [event] = process()
    assert event.status == WebhookEventStatus.PROCESSED
    message.refresh_from_db()
    assert message.status == "read" and message.read_at is not None


def test_a_contact_without_number_nor_user_id_is_still_refused_no_identity(
    merchant, wa_channel, post_message, fake_graph
):
    contact = ContactFactory(merchant=merchant, phone="")
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, contact=contact, identity=False)
    response = post_message(conversation, {"text": "Hola"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "no_identity")
    assert fake_graph.sent == []


# --------------------------------------------------------------------------- erased people
def erased(api, merchant, kind: str, external_id: str) -> None:
    contact = ContactFactory(merchant=merchant, phone=f"+{external_id}" if kind == "whatsapp" else "")
    IdentityFactory(contact=contact, kind=kind, external_id=external_id)
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204


PREFERENCES = {
    "whatsapp": "whatsapp/user_preferences_stop.json",
    "whatsapp_user": "whatsapp/user_preferences_stop_bsuid.json",
}


@pytest.mark.parametrize("kind,value", [("whatsapp", "stop"), ("whatsapp", "resume"), ("whatsapp_user", "stop"),
                                        ("whatsapp_user", "resume")])  # fmt: skip
def test_a_preference_of_an_erased_person_creates_nobody_and_records_nothing(
    api, merchant, post_webhook, wa_channel, caplog, kind, value
):
    external_id = WA_CUSTOMER if kind == "whatsapp" else WA_BSUID
    erased(api, merchant, kind, external_id)
    events_before = ConsentEvent.objects.count()
    payload = sample(PREFERENCES[kind])
    preference = payload["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    preference.update(value=value, detail=f"User requested to {value} marketing messages")
    assert preference.get("wa_id", preference.get("user_id")) == external_id
    with caplog.at_level(logging.INFO, logger="apps.conversations.services.inbound.whatsapp"):
        assert post_webhook(wa_channel, payload).status_code == 200
        [event] = process()
    assert event.status == WebhookEventStatus.PROCESSED
    assert Contact.objects.filter(erased_at=None).count() == 0
    assert ConsentEvent.objects.count() == events_before
    assert [r.message for r in caplog.records if r.message.startswith("conversations.preference")] == [
        "conversations.preference_of_erased_person"
    ]
    assert not WebhookEvent.objects.filter(body__contains=external_id).exists()  # and the stored body forgot them


def test_an_erased_person_who_wrote_again_has_their_stop_recorded(api, merchant, post_webhook, wa_channel):
    erased(api, merchant, "whatsapp_user", WA_BSUID)
    returning = write_now(post_webhook, wa_channel, "whatsapp/inbound_text_bsuid_only.json")
    assert post_webhook(wa_channel, sample("whatsapp/user_preferences_stop_bsuid.json")).status_code == 200
    process()
    assert Contact.objects.get(erased_at=None) == returning
    revoke = ConsentEvent.objects.get(contact=returning)
    assert (revoke.action, revoke.source) == ("revoke", "provider_preference")


def test_a_preference_for_an_erased_number_held_again_by_an_imported_contact_applies(
    api, merchant, post_webhook, wa_channel
):
    erased(api, merchant, "whatsapp", WA_CUSTOMER)
    imported = ContactFactory(merchant=merchant, phone=f"+{WA_CUSTOMER}")  # the number came back by import
    assert post_webhook(wa_channel, sample("whatsapp/user_preferences_stop.json")).status_code == 200
    process()
    assert list(Contact.objects.filter(erased_at=None)) == [imported]
    assert ConsentEvent.objects.get(contact=imported).action == "revoke"


def test_a_number_change_notice_for_an_erased_person_creates_nobody(api, merchant, post_webhook, wa_channel):
    erased(api, merchant, "whatsapp", WA_CUSTOMER)
    assert post_webhook(wa_channel, sample("whatsapp/system_user_changed_number.json")).status_code == 200
    [event] = process()
    assert event.status == WebhookEventStatus.PROCESSED
    assert Contact.objects.filter(erased_at=None).count() == 0
    assert Message.objects.count() == 0
    assert not WebhookEvent.objects.filter(body__contains=WA_CUSTOMER).exists()
