"""The one outbound check, through the real API, inbox and webhook: marketing needs granted marketing consent
on the channel (the campaigns' gate), utility and service messages keep the window rules, a template's category
is read again at send time, and a refused send never reaches the (fake) provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import MessageTemplate
from apps.contacts.models import ConsentEvent, ConsentState
from apps.contacts.services import contact_erase
from apps.conversations.models import Message, WebhookEvent, WebhookEventStatus
from apps.conversations.services.inbound import webhook_event_process
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory, grant
from tests.factories.conversations import ConversationFactory
from tests.samples import WA_PHONE_NUMBER_ID

pytestmark = pytest.mark.django_db

WA_ID = "34600111222"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def conversation(wa_channel):
    # The customer wrote three days ago: free text is closed, a template may still go out.
    return ConversationFactory(
        merchant=wa_channel.merchant,
        channel=wa_channel,
        contact__phone=f"+{WA_ID}",
        identity=WA_ID,
        last_inbound_at=timezone.now() - timedelta(days=3),
    )


@pytest.fixture
def marketing(merchant):
    return TemplateFactory(merchant=merchant, name="spring_sale", category="marketing", body="Hola {{first_name}}")


@pytest.fixture
def utility(merchant):
    return TemplateFactory(
        merchant=merchant, name="order_ready", category="utility", body="Hola {{first_name}}, ya está.", buttons=[]
    )


@pytest.fixture
def send(api, fake_graph, eager, django_capture_on_commit_callbacks):
    """send(conversation, template) -> response; delivery runs inline, so whatever was queued reaches the fake."""

    def post(conversation, template):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(
                f"/api/v1/conversations/{conversation.pk}/messages/",
                {"template": {"id": template.pk, "params": {"first_name": "Ana"}}},
                format="json",
            )

    return post


CONSENT = "Marketing messages need the contact's granted marketing consent on this channel"
SUPPRESSED = "Marketing messages are never sent to a person on the suppression list"


def assert_refused_and_nothing_sent(
    response, fake_graph, reason_text: str, *, code: str = "no_marketing_consent", outbound_before: int = 0
) -> None:
    assert response.status_code == 422, response.json()
    error = response.json()["error"]
    assert error["code"] == code
    prefix = {"no_marketing_consent": CONSENT, "suppressed": SUPPRESSED}.get(code)
    assert error["message"] == (f"{prefix}: {reason_text}." if prefix else reason_text)
    assert len(fake_graph.sent) == outbound_before
    assert Message.objects.filter(direction="outbound").count() == outbound_before


# --------------------------------------------------------------------------- marketing templates through the API
def test_marketing_template_to_a_contact_who_sent_stop_is_refused(conversation, marketing, send, fake_graph):
    grant(conversation.contact)
    from apps.contacts.keywords import keyword_handle_inbound

    keyword_handle_inbound(
        merchant=conversation.merchant, contact=conversation.contact, channel="whatsapp", text="STOP", message_id="m1"
    )
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(response, fake_graph, "the contact revoked marketing consent on this channel")


def test_marketing_template_to_a_contact_who_never_consented_is_refused(conversation, marketing, send, fake_graph):
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(response, fake_graph, "the contact never granted marketing consent on this channel")


def test_marketing_template_to_a_pending_double_opt_in_is_refused(conversation, marketing, send, fake_graph):
    grant(conversation.contact, double_opt_in=True)
    assert ConsentState.objects.get(contact=conversation.contact).status == "pending"
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(response, fake_graph, "the contact has not confirmed the marketing opt-in yet")


def test_marketing_consent_on_another_channel_does_not_count(conversation, marketing, send, fake_graph):
    grant(conversation.contact, channel="messenger")
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(response, fake_graph, "the contact never granted marketing consent on this channel")


def test_marketing_template_to_a_suppressed_person_is_refused(merchant, wa_channel, marketing, send, fake_graph):
    erased = ContactFactory(merchant=merchant, phone="+34600999000", email="ana@example.test")
    contact_erase(contact=erased)
    # The same person again (same e-mail), with a grant dated before the erasure: old evidence does not count.
    again = ContactFactory(merchant=merchant, phone=f"+{WA_ID}", email="ana@example.test")
    grant(again, occurred_at=timezone.now() - timedelta(days=1))
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, contact=again, identity=WA_ID)
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(
        response, fake_graph, "the person was erased before and has not granted consent again since", code="suppressed"
    )


def test_a_suppressed_person_who_never_consented_is_refused_as_suppressed(
    merchant, wa_channel, marketing, send, fake_graph
):
    contact_erase(contact=ContactFactory(merchant=merchant, phone=f"+{WA_ID}"))
    again = ContactFactory(merchant=merchant, phone=f"+{WA_ID}")  # back through an import: no consent either
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, contact=again, identity=WA_ID)
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(
        response, fake_graph, "the person was erased before and has not granted consent again since", code="suppressed"
    )


def test_a_suppressed_person_who_granted_again_since_is_sent_marketing(
    merchant, wa_channel, marketing, send, fake_graph
):
    contact_erase(contact=ContactFactory(merchant=merchant, phone=f"+{WA_ID}"))
    again = ContactFactory(merchant=merchant, phone=f"+{WA_ID}")
    grant(again, source="web_form")  # a new act of the person, after the erasure
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, contact=again, identity=WA_ID)
    assert send(conversation, marketing).status_code == 201
    assert len(fake_graph.sent) == 1


def test_marketing_template_to_an_erased_contact_is_refused(conversation, marketing, send, fake_graph):
    grant(conversation.contact)
    contact_erase(contact=conversation.contact)
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(response, fake_graph, "the contact was erased", code="suppressed")


def test_marketing_template_to_a_granted_contact_is_sent(conversation, marketing, send, fake_graph):
    grant(conversation.contact)
    response = send(conversation, marketing)
    assert response.status_code == 201, response.json()
    assert response.json()["body"] == "Hola Ana"
    [sent] = fake_graph.sent
    assert (sent["body"]["to"], sent["body"]["template"]["name"]) == (WA_ID, "spring_sale")


def test_utility_template_to_an_unconsented_contact_is_sent(conversation, utility, send, fake_graph):
    response = send(conversation, utility)
    assert response.status_code == 201, response.json()
    [sent] = fake_graph.sent
    assert sent["body"]["template"]["name"] == "order_ready"


def test_service_reply_needs_no_marketing_consent_but_keeps_the_window(api, conversation, fake_graph):
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    late = api.post(url, {"text": "¿Sigues ahí?"}, format="json")
    assert (late.status_code, late.json()["error"]["code"]) == (422, "outside_service_window")
    conversation.last_inbound_at = timezone.now() - timedelta(hours=1)
    conversation.save(update_fields=["last_inbound_at"])
    assert api.post(url, {"text": "Ya está enviado."}, format="json").status_code == 201


def test_automated_marketing_text_needs_consent_too(conversation, fake_graph):
    from apps.conversations.policy import PolicyRefused
    from apps.conversations.services import message_send

    conversation.last_inbound_at = timezone.now() - timedelta(hours=1)
    conversation.save(update_fields=["last_inbound_at"])
    with pytest.raises(PolicyRefused) as refused:
        message_send(conversation=conversation, text="20% off today", automated=True, category="marketing")
    assert refused.value.code == "no_marketing_consent"
    grant(conversation.contact)
    message = message_send(conversation=conversation, text="20% off today", automated=True, category="marketing")
    assert message.status == "queued"


def test_a_marketing_declaration_beats_a_utility_template(conversation, utility):
    from apps.conversations.policy import PolicyRefused
    from apps.conversations.services import message_send

    with pytest.raises(PolicyRefused) as refused:
        message_send(
            conversation=conversation, template=utility, template_params={"first_name": "Ana"}, category="marketing"
        )
    assert refused.value.code == "no_marketing_consent"


# --------------------------------------------------------------------------- the category is read at send time
def test_a_picked_template_recategorised_before_the_send_is_checked_as_stored(conversation, utility):
    from apps.conversations.policy import PolicyRefused
    from apps.conversations.services import message_send

    MessageTemplate.objects.filter(pk=utility.pk).update(category="marketing")  # `utility` still says utility
    with pytest.raises(PolicyRefused) as refused:
        message_send(conversation=conversation, template=utility, template_params={"first_name": "Ana"})
    assert refused.value.code == "no_marketing_consent"
    assert not Message.objects.exists()


def category_update(template, *, completed: bool = True) -> dict:
    value = {
        "message_template_id": 1689556908129832,
        "message_template_name": template.name,
        "message_template_language": template.language,
    }
    if completed:
        value.update(previous_category="UTILITY", new_category="MARKETING")
    else:
        value.update(correct_category="MARKETING", new_category="UTILITY", category_update_timestamp=1764060000)
    change = {"field": "template_category_update", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "104839201938475", "changes": [change]}]}


def process_all() -> None:
    for event_id in WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).values_list("id", flat=True):
        webhook_event_process(event_id=event_id)


def test_meta_recategorising_utility_to_marketing_then_refuses_the_unconsented(
    conversation, utility, send, post_webhook, wa_channel, fake_graph
):
    assert send(conversation, utility).status_code == 201
    post_webhook(wa_channel, category_update(utility, completed=False))  # announced only: nothing changes yet
    process_all()
    utility.refresh_from_db()
    assert utility.category == "utility"
    post_webhook(wa_channel, category_update(utility))
    process_all()
    utility.refresh_from_db()
    assert utility.category == "marketing"
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.PROCESSED).count() == 2
    fake_graph.sent.clear()
    Message.objects.all().delete()
    assert_refused_and_nothing_sent(
        send(conversation, utility), fake_graph, "the contact never granted marketing consent on this channel"
    )


def test_a_category_meta_has_that_we_do_not_model_changes_nothing(utility, post_webhook, wa_channel):
    payload = category_update(utility)
    payload["entry"][0]["changes"][0]["value"]["new_category"] = "AUTHENTICATION"
    post_webhook(wa_channel, payload)
    process_all()
    utility.refresh_from_db()
    assert utility.category == "utility"


# --------------------------------------------------------------------------- the inbox
def test_inbox_template_form_shows_the_refusal(agent_membership, member_client, conversation, marketing, fake_graph):
    agent = member_client(agent_membership)
    response = agent.post(
        reverse("conversations:template_send", args=[conversation.pk]),
        {"template_id": marketing.pk, "param_first_name": "Ana"},
        **HTMX,
    )
    assert response.status_code == 422
    assert (
        "Marketing messages need the contact&#x27;s granted marketing consent on this channel: "
        "the contact never granted marketing consent on this channel." in response.content.decode()
    )
    assert not Message.objects.exists() and fake_graph.sent == []


# --------------------------------------------------------------------------- item 5 and 6 through the webhook
def inbound_text(text: str, message_id: str, timestamp: int) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000001", "phone_number_id": WA_PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": WA_ID}],
        "messages": [
            {"from": WA_ID, "id": message_id, "timestamp": str(timestamp), "type": "text", "text": {"body": text}}
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def test_a_yes_after_stop_is_an_answer_not_a_subscription(conversation, post_webhook, wa_channel, fake_graph):
    grant(conversation.contact)
    now = int(timezone.now().timestamp())
    post_webhook(wa_channel, inbound_text("STOP", "wamid.stop", now - 60))
    post_webhook(wa_channel, inbound_text("Yes", "wamid.yes", now - 30))  # answering an agent's question
    process_all()
    assert ConsentState.objects.get(contact=conversation.contact).status == "revoked"
    assert list(ConsentEvent.objects.values_list("action", flat=True)) == ["grant", "revoke"]
    assert Message.objects.get(provider_message_id="wamid.yes").metadata.get("keyword") is None


def user_preference_stop(timestamp: int) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000001", "phone_number_id": WA_PHONE_NUMBER_ID},
        "contacts": [{"wa_id": WA_ID}],
        "user_preferences": [
            {
                "wa_id": WA_ID,
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": timestamp,
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "104839201938475", "changes": [{"value": value, "field": "user_preferences"}]}],
    }


def test_a_stop_in_the_same_second_as_a_grant_recorded_just_before_revokes(conversation, post_webhook, wa_channel):
    second = int(timezone.now().timestamp()) - 5
    grant(conversation.contact, occurred_at=datetime.fromtimestamp(second, tz=UTC) + timedelta(milliseconds=600))
    post_webhook(wa_channel, user_preference_stop(second))
    process_all()
    state = ConsentState.objects.get(contact=conversation.contact, channel="whatsapp", purpose="marketing")
    assert state.status == "revoked"
    assert (state.last_event.action, state.last_event.source) == ("revoke", "provider_preference")


def test_a_stop_stamped_a_second_before_the_grant_stays_history(conversation, post_webhook, wa_channel):
    second = int(timezone.now().timestamp()) - 5
    grant(conversation.contact, occurred_at=datetime.fromtimestamp(second, tz=UTC) + timedelta(milliseconds=600))
    post_webhook(wa_channel, user_preference_stop(second - 1))
    process_all()
    assert ConsentState.objects.get(contact=conversation.contact).status == "granted"
    assert ConsentEvent.objects.filter(action="revoke", resulting_status="granted").count() == 1


# --------------------------------------------------------------------------- one rule with the campaigns' gate
def test_the_check_refuses_marketing_to_exactly_whom_the_campaign_gate_refuses(merchant, wa_channel):
    from apps.contacts.gate import consent_gate
    from apps.contacts.keywords import keyword_handle_inbound
    from apps.conversations.outbound import Outbound, outbound_check

    conversations = [ConversationFactory(merchant=merchant, channel=wa_channel) for _ in range(5)]
    never, granted, revoked, pending, other_channel = (c.contact for c in conversations)
    grant(granted)
    grant(revoked)
    keyword_handle_inbound(merchant=merchant, contact=revoked, channel="whatsapp", text="STOP", message_id="m")
    grant(pending, double_opt_in=True)
    grant(other_channel, channel="messenger")
    gate = consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[c.contact_id for c in conversations])
    content = Outbound(category="marketing", is_template=True, automated=False, human_agent=True)
    refused = {
        c.contact_id: outbound_check(conversation=c, content=content, now=timezone.now()).code for c in conversations
    }
    assert {cid for cid, reason in gate.items() if reason} == {
        cid for cid, code in refused.items() if code != "allowed"
    }
    assert refused[granted.pk] == "allowed" and gate[never.pk] == "no_consent"


@pytest.mark.parametrize(
    ("template_category", "declared", "expected"),
    [
        (None, "service", "service"),
        (None, "marketing", "marketing"),
        ("marketing", "service", "marketing"),
        ("MARKETING", "service", "marketing"),
        ("utility", "service", "utility"),
        ("UTILITY", "service", "utility"),
        ("authentication", "service", "authentication"),
        ("utility", "marketing", "marketing"),
        ("", "service", "marketing"),  # a category we cannot read is never taken as "not marketing"
        ("promotional", "service", "marketing"),
    ],
)
def test_content_category(template_category, declared, expected):
    from types import SimpleNamespace

    from apps.conversations.outbound import content_category

    template = None if template_category is None else SimpleNamespace(category=template_category)
    assert content_category(template=template, declared=declared) == expected


def test_an_unknown_declared_category_is_a_programming_error():
    from apps.conversations.outbound import content_category

    with pytest.raises(ValueError, match="unknown content category 'promo'"):
        content_category(template=None, declared="promo")


# --------------------------------------------------------------------------- consent is checked again at delivery
def test_a_stop_while_a_marketing_template_waits_in_the_queue_keeps_it_from_the_provider(
    conversation, marketing, fake_graph
):
    from apps.contacts.keywords import keyword_handle_inbound
    from apps.conversations.services import message_deliver, message_send

    grant(conversation.contact)
    queued = message_send(conversation=conversation, template=marketing, template_params={"first_name": "Ana"})
    keyword_handle_inbound(
        merchant=conversation.merchant, contact=conversation.contact, channel="whatsapp", text="STOP", message_id="m"
    )
    assert message_deliver(message_id=queued.pk) == "failed"
    queued.refresh_from_db()
    assert (queued.status, queued.error_code) == ("failed", "no_marketing_consent")
    assert queued.error_message.endswith(": the contact revoked marketing consent on this channel.")
    assert fake_graph.sent == []


def test_a_suppression_while_a_marketing_template_waits_fails_it_as_suppressed(
    merchant, wa_channel, marketing, fake_graph
):
    from apps.conversations.services import message_deliver, message_send

    contact = ContactFactory(merchant=merchant, phone=f"+{WA_ID}", email="ana@example.test")
    grant(contact)
    conversation = ConversationFactory(merchant=merchant, channel=wa_channel, contact=contact, identity=WA_ID)
    queued = message_send(conversation=conversation, template=marketing, template_params={"first_name": "Ana"})
    # A duplicate record of the same person (same e-mail) is erased at their request before the delivery runs.
    contact_erase(contact=ContactFactory(merchant=merchant, phone="+34600999000", email="ana@example.test"))
    assert message_deliver(message_id=queued.pk) == "failed"
    queued.refresh_from_db()
    assert (queued.status, queued.error_code) == ("failed", "suppressed")
    assert queued.error_message == (
        f"{SUPPRESSED}: the person was erased before and has not granted consent again since."
    )
    assert fake_graph.sent == []


def test_a_utility_template_is_delivered_without_a_consent_lookup(conversation, utility, fake_graph):
    from apps.conversations.services import message_deliver, message_send

    queued = message_send(conversation=conversation, template=utility, template_params={"first_name": "Ana"})
    assert "category" not in queued.metadata
    assert message_deliver(message_id=queued.pk) == "sent"
    assert len(fake_graph.sent) == 1


def test_an_inbox_template_send_posts_the_header_and_buttons_a_campaign_posts(conversation, merchant, fake_graph):
    from apps.campaigns.send_body import campaign_send_body
    from apps.conversations.services import message_deliver, message_send

    template = TemplateFactory(
        merchant=merchant,
        category="utility",
        header_media_url="https://cdn.example.test/spring.jpg",
        header_media_type="image",
        buttons=[{"text": "Stop promotions", "payload": "STOP_PROMOTIONS"}, {"text": "More", "payload": "MORE"}],
    )
    queued = message_send(conversation=conversation, template=template, template_params={"first_name": "Ana"})
    assert message_deliver(message_id=queued.pk) == "sent"
    [sent] = fake_graph.sent
    campaign = campaign_send_body(template=template, to=WA_ID, values={"first_name": "Ana"}, opaque="x")
    assert sent["body"]["template"] == campaign["template"]
    assert [c["type"] for c in sent["body"]["template"]["components"]] == ["header", "body", "button", "button"]
    assert sent["body"]["template"]["components"][0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://cdn.example.test/spring.jpg"}}],
    }
    assert sent["body"]["template"]["components"][3] == {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "1",
        "parameters": [{"type": "payload", "payload": "MORE"}],
    }


# --------------------------------------------------------------------------- the merchant's quiet hours and cap
QUIET = "Marketing messages are not sent during the merchant's quiet hours"
CAP = "The contact has reached the merchant's limit of marketing messages"
LATE_EVENING = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)  # 22:30 in Madrid (CET), 16:30 in New York


def merchant_rules(merchant, **rules) -> None:
    merchant.settings = {**merchant.settings, **rules}
    merchant.save(update_fields=["settings"])


@pytest.fixture
def at():
    """at(instant): the clock stands there (the fake provider and the database keep working)."""
    with time_machine.travel(LATE_EVENING, tick=True) as traveller:
        yield traveller.move_to


def test_marketing_in_the_merchants_quiet_hours_is_refused(conversation, marketing, send, fake_graph, at):
    at(LATE_EVENING)
    merchant_rules(conversation.merchant, marketing_quiet_hours={"start": "21:00", "end": "09:00"})
    grant(conversation.contact)
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(
        response, fake_graph, f"{QUIET} (21:00-09:00 in the contact's time zone, Europe/Madrid).", code="quiet_hours"
    )


def test_quiet_hours_are_the_contacts_own(conversation, marketing, send, fake_graph, at):
    at(LATE_EVENING)
    merchant_rules(conversation.merchant, marketing_quiet_hours={"start": "21:00", "end": "09:00"})
    grant(conversation.contact)
    conversation.contact.timezone = "America/New_York"
    conversation.contact.save(update_fields=["timezone"])
    assert send(conversation, marketing).status_code == 201
    assert len(fake_graph.sent) == 1


def test_quiet_hours_end_at_their_end(conversation, marketing, send, fake_graph, at):
    merchant_rules(conversation.merchant, marketing_quiet_hours={"start": "21:00", "end": "09:00"})
    grant(conversation.contact)
    at(datetime(2026, 12, 2, 7, 59, tzinfo=UTC))  # 08:59 in Madrid
    assert send(conversation, marketing).json()["error"]["code"] == "quiet_hours"
    at(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # 09:00 in Madrid
    assert send(conversation, marketing).status_code == 201
    assert len(fake_graph.sent) == 1


def test_without_the_setting_there_are_no_quiet_hours(conversation, marketing, send, fake_graph, at):
    at(LATE_EVENING)
    grant(conversation.contact)
    assert send(conversation, marketing).status_code == 201


def test_marketing_past_the_merchants_frequency_cap_is_refused(conversation, marketing, send, fake_graph, at):
    at(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    merchant_rules(conversation.merchant, marketing_frequency_cap={"max": 1, "period": "day"})
    grant(conversation.contact)
    assert send(conversation, marketing).status_code == 201
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(
        response, fake_graph, f"{CAP}: 1 of 1 this day (in Europe/Madrid).", code="frequency_cap", outbound_before=1
    )
    at(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # midnight in Madrid: a new day
    assert send(conversation, marketing).status_code == 201
    assert len(fake_graph.sent) == 2


def test_the_cap_counts_campaign_messages_of_the_contacts_day(conversation, marketing, send, fake_graph, at):
    from apps.campaigns.models import Delivery
    from tests.factories.campaigns import CampaignFactory

    at(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # 00:30 on 1 December in Madrid
    merchant = conversation.merchant
    merchant_rules(merchant, marketing_frequency_cap={"max": 1, "period": "day"})
    grant(conversation.contact)
    campaign = CampaignFactory(merchant=merchant, channel=conversation.channel, template=marketing)
    delivery = Delivery.objects.create(
        merchant=merchant,
        campaign=campaign,
        contact=conversation.contact,
        state="sent",
        attempted_at=datetime(2026, 11, 30, 22, 50, tzinfo=UTC),  # 23:50 in Madrid: yesterday there
    )
    assert send(conversation, marketing).status_code == 201
    Message.objects.all().delete()
    fake_graph.sent.clear()
    Delivery.objects.filter(pk=delivery.pk).update(attempted_at=datetime(2026, 11, 30, 23, 10, tzinfo=UTC))  # 00:10
    response = send(conversation, marketing)
    assert_refused_and_nothing_sent(
        response, fake_graph, f"{CAP}: 1 of 1 this day (in Europe/Madrid).", code="frequency_cap"
    )


def test_failed_and_non_marketing_messages_do_not_count_toward_the_cap(conversation, marketing, utility, send, at):
    at(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    merchant_rules(conversation.merchant, marketing_frequency_cap={"max": 1, "period": "week"})
    grant(conversation.contact)
    assert send(conversation, utility).status_code == 201
    assert send(conversation, marketing).status_code == 201
    Message.objects.filter(template_name="spring_sale").update(status="failed")
    assert send(conversation, marketing).status_code == 201
    assert send(conversation, marketing).json()["error"]["code"] == "frequency_cap"


def test_service_messages_keep_no_quiet_hours_and_no_cap(api, conversation, marketing, utility, send, fake_graph, at):
    at(LATE_EVENING)
    merchant_rules(
        conversation.merchant,
        marketing_quiet_hours={"start": "21:00", "end": "09:00"},
        marketing_frequency_cap={"max": 1, "period": "day"},
    )
    conversation.last_inbound_at = LATE_EVENING - timedelta(minutes=5)
    conversation.save(update_fields=["last_inbound_at"])
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    replies = [api.post(url, {"text": text}, format="json") for text in ("Tu pedido sale mañana.", "¿Algo más?")]
    assert [r.status_code for r in replies] == [201, 201]
    assert send(conversation, utility).status_code == 201
    grant(conversation.contact)
    assert send(conversation, marketing).json()["error"]["code"] == "quiet_hours"
    assert [m.status for m in Message.objects.filter(direction="outbound").order_by("id")] == [
        "queued",
        "queued",
        "sent",
    ]


def test_an_automated_marketing_sender_keeps_the_quiet_hours(conversation, at):
    from apps.conversations.policy import PolicyRefused
    from apps.conversations.services import message_send

    at(LATE_EVENING)
    merchant_rules(conversation.merchant, marketing_quiet_hours={"start": "21:00", "end": "09:00"})
    grant(conversation.contact)
    conversation.last_inbound_at = LATE_EVENING - timedelta(minutes=5)
    conversation.save(update_fields=["last_inbound_at"])
    with pytest.raises(PolicyRefused) as refused:
        message_send(conversation=conversation, text="20% off tonight", automated=True, category="marketing")
    assert refused.value.code == "quiet_hours"
    reply = message_send(conversation=conversation, text="Your order ships tomorrow", automated=True)
    assert reply.status == "queued"
