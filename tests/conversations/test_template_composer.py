"""The blocked composer offers approved templates: picker, prefilled variables, preview, send, refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.conversations import extension_points, selectors
from apps.conversations.models import Message
from tests.factories.conversations import ChannelFactory, ConversationFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@dataclass
class FakeTemplate:
    id: int
    name: str
    language: str = "en_US"
    body: str = "Hi {{first_name}}, your order {{order}} is ready."
    variables: list = field(default_factory=lambda: ["first_name", "order"])
    status: str = "approved"
    channel_kind: str = "whatsapp"
    merchant_id: int = 0
    category: str = "utility"
    header_media_url: str = ""
    header_media_type: str = ""
    buttons: list = field(default_factory=list)


CATALOGUE: list[FakeTemplate] = []


def fake_lister(*, merchant, channel):
    return [t for t in CATALOGUE if t.merchant_id == merchant.pk]


def fake_resolver(*, merchant, template_id):
    """The send path reads the template again at send time: from the same catalogue."""
    return next((t for t in CATALOGUE if t.merchant_id == merchant.pk and str(t.id) == str(template_id)), None)


@pytest.fixture
def templates(merchant, other_merchant, monkeypatch):
    monkeypatch.setattr(extension_points, "_template_resolvers", [fake_resolver])
    CATALOGUE[:] = [
        FakeTemplate(1, "order_ready", merchant_id=merchant.pk),
        FakeTemplate(2, "draft_offer", status="pending", merchant_id=merchant.pk),
        FakeTemplate(3, "fb_only", channel_kind="messenger", merchant_id=merchant.pk),
        FakeTemplate(4, "greeting", body="Hello <b>{{name}}</b>!", variables=["name"], merchant_id=merchant.pk),
        FakeTemplate(5, "theirs_SWEEP", merchant_id=other_merchant.pk),
    ]
    extension_points.register_template_lister(fake_lister)
    yield CATALOGUE
    extension_points.unregister_template_lister(fake_lister)
    CATALOGUE.clear()


@pytest.fixture
def agent(agent_membership, member_client):
    return member_client(agent_membership)


@pytest.fixture
def blocked(merchant):
    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    return ConversationFactory(
        merchant=merchant,
        channel=channel,
        contact__name="Ana María López",
        last_inbound_at=timezone.now() - timedelta(days=2),
    )


def url(name, *args):
    return reverse(f"conversations:{name}", args=args)


def test_templates_for_keeps_approved_ones_of_the_channels_kind_once(templates, blocked, merchant):
    extension_points.register_template_lister(fake_lister)  # registering twice does not list twice
    names = [t.name for t in selectors.templates_for(merchant=merchant, channel=blocked.channel)]
    assert names == ["order_ready", "greeting"]
    assert selectors.template_for(merchant=merchant, channel=blocked.channel, template_id="4").name == "greeting"
    assert selectors.template_for(merchant=merchant, channel=blocked.channel, template_id="5") is None
    assert selectors.template_for(merchant=merchant, channel=blocked.channel, template_id="2") is None


def test_a_broken_lister_fails_loudly(templates, blocked, merchant):
    def broken(*, merchant, channel):
        raise RuntimeError("campaigns is broken")

    extension_points.register_template_lister(broken)
    try:
        with pytest.raises(RuntimeError, match="campaigns is broken"):
            selectors.templates_for(merchant=merchant, channel=blocked.channel)
    finally:
        extension_points.unregister_template_lister(broken)


def test_blocked_composer_lists_templates_and_prefills_from_the_contact(templates, blocked, agent):
    body = agent.get(url("conversation", blocked.pk)).content.decode()
    assert "Replies are blocked" in body and 'id="template-picker"' in body
    assert "order_ready (en_US)" in body and "greeting" in body
    assert "draft_offer" not in body and "fb_only" not in body and "theirs_SWEEP" not in body
    form = agent.get(url("template_form", blocked.pk), {"template_id": 1}, **HTMX).content.decode()
    assert 'name="param_first_name"' in form and 'value="Ana"' in form
    assert 'name="param_order"' in form and 'value=""' in form
    assert "Hi Ana, your order {{order}} is ready." in form
    # Without JavaScript the picker is a plain GET of the conversation page.
    page = agent.get(url("conversation", blocked.pk), {"template_id": 1}).content.decode()
    assert 'id="template-send"' in page and 'value="Ana"' in page


def test_preview_follows_what_the_agent_types_and_escapes_it(templates, blocked, agent):
    response = agent.get(
        url("template_form", blocked.pk),
        {"template_id": 4, "preview": 1, "param_name": "<script>x</script>"},
        **HTMX,
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="template-preview"')
    assert "Hello &lt;b&gt;&lt;script&gt;x&lt;/script&gt;&lt;/b&gt;!" in text and "<script>x" not in text
    assert agent.get(url("template_form", blocked.pk), {"template_id": 5}, **HTMX).content == b""


def test_sending_a_template_stores_the_rendered_message(templates, blocked, agent, agent_membership):
    response = agent.post(
        url("template_send", blocked.pk), {"template_id": 1, "param_first_name": "Ana", "param_order": "#42"}, **HTMX
    )
    assert response.status_code == 200, response.content.decode()
    message = Message.objects.get(conversation=blocked)
    assert (message.kind, message.status, message.template_name, message.template_language) == (
        "template",
        "queued",
        "order_ready",
        "en_US",
    )
    assert message.body == "Hi Ana, your order #42 is ready."
    assert message.template_params == {"first_name": "Ana", "order": "#42"}
    assert message.author_id == agent_membership.user_id
    # The fresh composer still explains the block (a template does not open the window) with no stale form.
    text = response.content.decode()
    assert "Replies are blocked" in text and 'id="template-picker"' in text and 'id="template-send"' not in text


def test_missing_variable_is_refused_with_its_name(templates, blocked, agent):
    response = agent.post(
        url("template_send", blocked.pk), {"template_id": 1, "param_first_name": "Ana", "param_order": "  "}, **HTMX
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Missing template parameters: order." in text and 'id="template-send"' in text and 'value="Ana"' in text
    assert not Message.objects.exists()


def test_unknown_or_foreign_or_unapproved_template_is_refused(templates, blocked, agent):
    for template_id in ("5", "2", "999", "", "x"):
        response = agent.post(url("template_send", blocked.pk), {"template_id": template_id}, **HTMX)
        assert response.status_code == 422
        assert "Choose one of the approved templates." in response.content.decode()
    response = agent.post(url("template_send", blocked.pk), {"template_id": "5"})
    assert response.status_code == 302
    assert not Message.objects.exists()


def test_policy_refusal_is_shown_not_a_500(templates, blocked, agent):
    blocked.channel.is_active = False
    blocked.channel.save(update_fields=["is_active"])
    response = agent.post(
        url("template_send", blocked.pk), {"template_id": 1, "param_first_name": "A", "param_order": "1"}, **HTMX
    )
    assert response.status_code == 422
    assert "This channel is switched off." in response.content.decode()
    assert not Message.objects.exists()


def test_no_templates_outside_whatsapp(templates, merchant, agent):
    channel = ChannelFactory(merchant=merchant, kind="messenger")
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, last_inbound_at=timezone.now() - timedelta(days=8)
    )
    body = agent.get(url("conversation", conversation.pk)).content.decode()
    assert "Replies are blocked" in body and 'id="template-picker"' not in body


def test_refusal_is_explained_even_when_the_window_reopened(templates, blocked, agent):
    blocked.last_inbound_at = timezone.now()
    blocked.save(update_fields=["last_inbound_at"])
    response = agent.post(url("template_send", blocked.pk), {"template_id": 1, "param_first_name": "Ana"}, **HTMX)
    assert response.status_code == 422
    text = response.content.decode()
    assert "The template was not sent." in text and "Missing template parameters: order." in text
    assert "Replies are blocked" not in text
    response = agent.post(url("template_send", blocked.pk), {"template_id": 999}, **HTMX)
    assert response.status_code == 422 and "Choose one of the approved templates." in response.content.decode()
    assert not Message.objects.exists()
