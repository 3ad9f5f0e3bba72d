"""The customer's side: the phone's taps and messages go through the real webhook path, consent and inbox."""

from __future__ import annotations

import pytest

from apps.contacts.models import ConsentEvent, ConsentState
from apps.conversations.models import Conversation, Message, WebhookEvent
from apps.sandbox import services
from apps.sandbox.models import Direction, SandboxMessage
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.sandbox import SandboxMessageFactory, template_send
from tests.sandbox.conftest import WA_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def promotion(wa_sandbox):
    template = TemplateFactory(merchant=wa_sandbox.merchant, body="Hola {{first_name}}, 20% off this week.")
    payload = template_send(template, WA_ID, params={"first_name": "Marta"})
    return SandboxMessageFactory(channel=wa_sandbox, address=WA_ID, payload=payload, kind="template")


@pytest.fixture
def live(eager, portal_http, django_capture_on_commit_callbacks):
    """Run what the phone starts (webhook processing, the keyword's reply and its sandbox send) to the end."""

    def run(call, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(**kwargs)

    return run


def _marketing(contact) -> str:
    return ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status


def test_tapping_stop_promotions_revokes_whatsapp_marketing_through_the_ledger(customer, wa_sandbox, promotion, live):
    tapped = live(services.customer_tap, channel=wa_sandbox, contact=customer, message_id=promotion.pk, index=0)
    assert _marketing(customer) == "revoked"
    revoke = ConsentEvent.objects.filter(contact=customer).latest("id")
    assert (revoke.action, revoke.source, revoke.channel, revoke.purpose) == (
        "revoke",
        "keyword",
        "whatsapp",
        "marketing",
    )
    assert revoke.evidence_message_id == tapped.provider_message_id
    item = tapped.payload
    assert (item["type"], item["button"], item["context"]["id"]) == (
        "button", {"payload": "STOP_PROMOTIONS", "text": "Stop promotions"}, promotion.provider_message_id,
    )  # fmt: skip
    inbound = Message.objects.get(direction="inbound")
    assert (inbound.body, inbound.channel, inbound.conversation.contact) == ("Stop promotions", wa_sandbox, customer)
    # the keyword engine's answer went out on the sandbox channel and is on the phone
    confirmation = SandboxMessage.objects.filter(direction=Direction.TO_CUSTOMER).exclude(pk=promotion.pk).get()
    assert confirmation.payload["text"]["body"] == (
        f"You will no longer receive marketing messages from {customer.merchant.name} here. "
        "Reply START to subscribe again."
    )
    assert (confirmation.address, confirmation.status) == (WA_ID, "read")


def test_customer_types_hello_and_it_arrives_in_the_inbox_conversation(customer, wa_sandbox, live):
    sent = live(services.customer_write, channel=wa_sandbox, contact=customer, text="  hello  ")
    conversation = Conversation.objects.get(channel=wa_sandbox, contact=customer)
    message = Message.objects.get(conversation=conversation)
    assert (message.direction, message.body, message.provider_message_id) == (
        "inbound",
        "hello",
        sent.provider_message_id,
    )
    assert _marketing(customer) == "granted"
    assert (sent.direction, sent.kind, sent.address, sent.payload["text"]) == (
        Direction.FROM_CUSTOMER, "text", WA_ID, {"body": "hello"},
    )  # fmt: skip
    assert WebhookEvent.objects.get().status == "processed"


def test_customer_types_stop_and_marketing_is_revoked(customer, wa_sandbox, live):
    live(services.customer_write, channel=wa_sandbox, contact=customer, text="STOP")
    assert _marketing(customer) == "revoked"


def test_messenger_customer_writes_to_the_page(merchant, fb_sandbox, live):
    contact = ContactFactory(merchant=merchant)
    IdentityFactory(contact=contact, kind="messenger", external_id="7231405968472130")
    live(services.customer_write, channel=fb_sandbox, contact=contact, text="¿Abrís el sábado?")
    message = Message.objects.get(direction="inbound")
    assert (message.body, message.channel, message.conversation.contact) == ("¿Abrís el sábado?", fb_sandbox, contact)


@pytest.mark.parametrize(
    ("text", "field", "error"),
    [("   ", "text", "Type a message first."), ("x" * 4097, "text", "A message holds at most 4096 characters.")],
)
def test_a_message_the_phone_cannot_send_is_refused_and_nothing_is_stored(customer, wa_sandbox, text, field, error):
    with pytest.raises(services.SandboxRefused) as refused:
        services.customer_write(channel=wa_sandbox, contact=customer, text=text)
    assert (refused.value.field, refused.value.message) == (field, error)
    assert (SandboxMessage.objects.count(), WebhookEvent.objects.count()) == (0, 0)


def test_a_contact_without_a_whatsapp_address_cannot_write(merchant, wa_sandbox):
    contact = ContactFactory(merchant=merchant, phone="")
    with pytest.raises(services.SandboxRefused, match="no WhatsApp number"):
        services.customer_write(channel=wa_sandbox, contact=contact, text="hi")
    assert WebhookEvent.objects.count() == 0


def test_tapping_a_button_that_is_not_there_is_refused(customer, wa_sandbox, promotion):
    with pytest.raises(services.SandboxRefused, match="no such button"):
        services.customer_tap(channel=wa_sandbox, contact=customer, message_id=promotion.pk, index=1)


def test_tapping_another_customers_message_is_refused(merchant, customer, wa_sandbox):
    elsewhere = SandboxMessageFactory(channel=wa_sandbox, address="34699999999")
    with pytest.raises(services.SandboxRefused, match="No such message"):
        services.customer_tap(channel=wa_sandbox, contact=customer, message_id=elsewhere.pk, index=0)
    assert WebhookEvent.objects.count() == 0


def test_erasing_the_contact_deletes_the_phones_copies(customer, wa_sandbox, promotion):
    from apps.contacts.services import contact_erase

    other = SandboxMessageFactory(channel=wa_sandbox, address="34699999999")
    contact_erase(contact=customer)
    assert list(SandboxMessage.objects.values_list("pk", flat=True)) == [other.pk]


def test_a_messenger_customer_taps_a_quick_reply(merchant, fb_sandbox, live):
    from apps.meta.payloads import messenger_quick_replies_payload

    contact = ContactFactory(merchant=merchant)
    IdentityFactory(contact=contact, kind="messenger", external_id="7231405968472130")
    grant(contact, channel="messenger")
    offer = SandboxMessageFactory(
        channel=fb_sandbox, address="7231405968472130", kind="message",
        payload=messenger_quick_replies_payload("7231405968472130", "New arrivals!", [("Stop promotions", "STOP")]),
    )  # fmt: skip
    tapped = live(services.customer_tap, channel=fb_sandbox, contact=contact, message_id=offer.pk, index=0)
    assert tapped.payload == {
        "mid": tapped.provider_message_id,
        "text": "Stop promotions",
        "quick_reply": {"payload": "STOP"},
    }
    assert ConsentState.objects.get(contact=contact, channel="messenger", purpose="marketing").status == "revoked"
    assert Message.objects.get(direction="inbound").body == "Stop promotions"
