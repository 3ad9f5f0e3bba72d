"""The send policy as a table: channel, age of the customer's last message, kind of send -> decision."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.conversations.policy import PolicyRefused, send_policy_check, template_check
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
NEVER = None

# (channel, age of last inbound, is_template, automated, human_agent) -> (allowed code, messaging_type, tag)
CASES = [
    # WhatsApp: free-form only within 24 h; templates any time.
    ("whatsapp", 1 * H, False, False, True, "allowed", "text", None),
    ("whatsapp", 23 * H + timedelta(minutes=59), False, False, True, "allowed", "text", None),
    ("whatsapp", 24 * H, False, False, True, "outside_service_window", None, None),
    ("whatsapp", 30 * 24 * H, False, True, False, "outside_service_window", None, None),
    ("whatsapp", NEVER, False, False, True, "template_required", None, None),
    ("whatsapp", NEVER, True, False, True, "allowed", "template", None),
    ("whatsapp", 48 * H, True, True, False, "allowed", "template", None),
    ("whatsapp", 1 * H, False, True, False, "allowed", "text", None),
    # Messenger: RESPONSE < 24 h, HUMAN_AGENT 24 h..7 d for humans only, nothing after 7 d.
    ("messenger", 1 * H, False, False, True, "allowed", "RESPONSE", None),
    ("messenger", 1 * H, False, True, False, "allowed", "RESPONSE", None),
    ("messenger", 24 * H, False, False, True, "allowed", "MESSAGE_TAG", "HUMAN_AGENT"),
    ("messenger", 6 * 24 * H, False, False, True, "allowed", "MESSAGE_TAG", "HUMAN_AGENT"),
    ("messenger", 48 * H, False, True, False, "automated_outside_window", None, None),
    ("messenger", 48 * H, False, True, True, "automated_outside_window", None, None),
    ("messenger", 48 * H, False, False, False, "human_agent_required", None, None),
    ("messenger", 7 * 24 * H, False, False, True, "human_agent_window_expired", None, None),
    ("messenger", 30 * 24 * H, False, False, True, "human_agent_window_expired", None, None),
    ("messenger", NEVER, False, False, True, "outside_service_window", None, None),
    ("messenger", 1 * H, True, False, True, "template_not_supported", None, None),
    # Web chat: no window; no templates.
    ("webchat", 90 * 24 * H, False, True, False, "allowed", None, None),
    ("webchat", NEVER, False, False, True, "allowed", None, None),
    ("webchat", 1 * H, True, False, True, "template_not_supported", None, None),
]


@pytest.mark.parametrize(("kind", "age", "is_template", "automated", "human", "code", "messaging_type", "tag"), CASES)
def test_send_policy_table(kind, age, is_template, automated, human, code, messaging_type, tag):
    with time_machine.travel(NOW, tick=False):
        conversation = ConversationFactory(channel__kind=kind, last_inbound_at=None if age is None else NOW - age)
        decision = send_policy_check(
            conversation=conversation, now=NOW, is_template=is_template, automated=automated, human_agent=human
        )
    assert decision.code == code
    assert decision.allowed is (code == "allowed")
    assert decision.messaging_type == messaging_type
    assert decision.tag == tag
    assert bool(decision.message) is (code != "allowed")


@pytest.mark.parametrize("kind", ["whatsapp", "messenger", "webchat"])
def test_inactive_channel_is_refused_first(kind):
    conversation = ConversationFactory(channel__kind=kind, channel__is_active=False, last_inbound_at=NOW)
    decision = send_policy_check(
        conversation=conversation, now=NOW, is_template=False, automated=False, human_agent=True
    )
    assert decision.code == "channel_inactive"


@pytest.mark.parametrize("kind", ["whatsapp", "messenger", "webchat"])
def test_contact_without_identity_on_the_channel(kind):
    conversation = ConversationFactory(channel__kind=kind, identity=False, last_inbound_at=NOW, contact__phone="")
    decision = send_policy_check(
        conversation=conversation, now=NOW, is_template=False, automated=False, human_agent=True
    )
    assert decision.code == "no_identity"


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("HUMAN_AGENT", "allowed"),
        ("SHIPPING_UPDATE", "tag_not_allowed"),
        ("ACCOUNT_UPDATE", "tag_not_allowed"),
        ("CONFIRMED_EVENT_UPDATE", "tag_not_allowed"),
    ],
)
def test_messenger_tags(tag, code):
    conversation = ConversationFactory(channel__kind="messenger", last_inbound_at=NOW - 30 * H)
    decision = send_policy_check(
        conversation=conversation, now=NOW, is_template=False, automated=False, human_agent=True, tag=tag
    )
    assert decision.code == code


class Template:
    def __init__(self, status="approved", variables=("first_name",), channel_kind="whatsapp"):
        self.name, self.language, self.body = "spring_sale", "es_ES", "Hola {{first_name}}"
        self.status, self.variables, self.channel_kind = status, list(variables), channel_kind


@pytest.mark.parametrize(
    ("template", "params", "code"),
    [
        (Template(), {"first_name": "Ana"}, None),
        (Template(status="pending"), {"first_name": "Ana"}, "template_not_approved"),
        (Template(status="rejected"), {"first_name": "Ana"}, "template_not_approved"),
        (Template(status="paused"), {"first_name": "Ana"}, "template_not_approved"),
        (Template(), {}, "template_params_invalid"),
        (Template(), {"first_name": "  "}, "template_params_invalid"),  # Meta refuses empty parameters (132000)
        (Template(channel_kind="messenger"), {"first_name": "Ana"}, "template_wrong_channel"),
    ],
)
def test_template_check(template, params, code):
    conversation = ConversationFactory(channel__kind="whatsapp")
    if code is None:
        template_check(template=template, channel=conversation.channel, params=params)
        return
    with pytest.raises(PolicyRefused) as excinfo:
        template_check(template=template, channel=conversation.channel, params=params)
    assert excinfo.value.code == code


def test_whatsapp_contact_known_only_by_phone_is_addressed_by_number():
    from apps.conversations.policy import recipient_for

    conversation = ConversationFactory(channel__kind="whatsapp", identity=False, contact__phone="+34600111222")
    assert recipient_for(conversation) == "34600111222"
    messenger = ConversationFactory(channel__kind="messenger", identity=False, contact__phone="+34600111223")
    assert recipient_for(messenger) is None


def test_whatsapp_contact_known_only_by_user_id_is_addressed_by_it_and_a_number_wins():
    from apps.conversations.policy import recipient_for
    from tests.factories.contacts import IdentityFactory

    conversation = ConversationFactory(channel__kind="whatsapp", identity=False, contact__phone="")
    IdentityFactory(contact=conversation.contact, kind="whatsapp_user", external_id="ES.1729304857612093")
    assert recipient_for(conversation) == "ES.1729304857612093"
    IdentityFactory(contact=conversation.contact, kind="whatsapp", external_id="34655667788")
    assert recipient_for(conversation) == "34655667788"
