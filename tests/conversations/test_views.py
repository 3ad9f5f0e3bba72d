"""The agent inbox pages: access, lists, history, composer, actions, sidebar, escaping."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.contacts.services import consent_record
from apps.conversations import panels
from apps.conversations.models import Attachment, Conversation, Message
from tests.conversations.live_support import webchat_channel
from tests.factories.conversations import CannedResponseFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent(agent_membership, member_client):
    return member_client(agent_membership)


@pytest.fixture
def webchat_conversation(merchant):
    channel = webchat_channel(merchant)
    return ConversationFactory(merchant=merchant, channel=channel)


def url(name, *args):
    return reverse(f"conversations:{name}", args=args)


# --------------------------------------------------------------------------- access
def test_inbox_needs_a_member_with_inbox_access(client, marketer_membership, member_client, agent):
    assert client.get(url("inbox")).status_code == 302
    assert member_client(marketer_membership).get(url("inbox")).status_code == 403
    response = agent.get(url("inbox"))
    assert response.status_code == 200
    assert b'id="live-status"' in response.content and b'aria-live="polite"' in response.content


def test_another_merchants_conversation_is_404(agent, other_merchant):
    theirs = ConversationFactory(merchant=other_merchant)
    assert agent.get(url("conversation", theirs.pk)).status_code == 404
    assert agent.post(url("message_send", theirs.pk), {"text": "hi"}).status_code == 404
    assert not Message.objects.filter(conversation=theirs).exists()


# --------------------------------------------------------------------------- list
def test_views_mine_unassigned_all(agent, agent_membership, admin_membership, merchant):
    mine = ConversationFactory(merchant=merchant, assignee=agent_membership.user, last_message_preview="MINE")
    ConversationFactory(merchant=merchant, assignee=admin_membership.user, last_message_preview="THEIRS")
    ConversationFactory(merchant=merchant, last_message_preview="NOBODYS")
    ConversationFactory(merchant=merchant, status="resolved", last_message_preview="DONE")
    body = agent.get(url("inbox"), {"view": "mine"}).content.decode()
    assert "MINE" in body and "THEIRS" not in body and "NOBODYS" not in body
    body = agent.get(url("inbox"), {"view": "unassigned"}).content.decode()
    assert "NOBODYS" in body and "MINE" not in body
    body = agent.get(url("inbox"), {"view": "all"}).content.decode()
    assert all(word in body for word in ("MINE", "THEIRS", "NOBODYS")) and "DONE" not in body
    body = agent.get(url("inbox"), {"view": "all", "status": "resolved"}).content.decode()
    assert "DONE" in body and "MINE" not in body
    assert f'id="row-{mine.pk}"' in agent.get(url("inbox"), {"view": "mine"}).content.decode()


def test_the_default_view_is_the_new_unassigned_open_chats(agent, agent_membership, merchant):
    waiting = ConversationFactory(merchant=merchant, last_message_preview="WAITING")
    ConversationFactory(merchant=merchant, assignee=agent_membership.user, last_message_preview="MINE")
    ConversationFactory(merchant=merchant, status="resolved", last_message_preview="DONE")
    response = agent.get(url("inbox"))
    body = response.content.decode()
    assert response.context["tab"] == "unassigned"
    assert f'id="row-{waiting.pk}"' in body and "MINE" not in body and "DONE" not in body
    assert '<a href="?view=unassigned" aria-current="page">' in body


def test_tabs_show_their_counts_under_the_status_filter(agent, agent_membership, admin_membership, merchant):
    ConversationFactory(merchant=merchant, assignee=agent_membership.user)
    ConversationFactory(merchant=merchant, assignee=admin_membership.user)
    ConversationFactory(merchant=merchant)
    ConversationFactory(merchant=merchant)
    ConversationFactory(merchant=merchant, status="resolved")
    tabs = agent.get(url("inbox")).context["tabs"]
    assert [(t["value"], t["count"], t["current"]) for t in tabs] == [
        ("mine", 1, False),
        ("unassigned", 2, True),
        ("all", 4, False),
    ]
    body = agent.get(url("inbox"), {"view": "all", "status": "resolved"}).content.decode()
    assert '<span class="tab-count" data-tab-count="all">1</span>' in body


def test_rows_show_an_initials_avatar_the_name_fallback_and_a_relative_time(agent, merchant):
    named = ConversationFactory(
        merchant=merchant, contact__name="Ana Torres", last_message_at=timezone.now() - timedelta(minutes=5)
    )
    visitor = ConversationFactory(merchant=merchant, contact__name="", contact__phone="", contact__email="")
    body = agent.get(url("inbox")).content.decode()
    assert '<span class="contact-name">Ana Torres</span>' in body
    assert f'<span class="contact-name">Visitor #{visitor.contact.pk}</span>' in body
    assert 'aria-hidden="true">AT</span>' in body
    iso = named.last_message_at.astimezone(UTC).isoformat()
    assert f'<time datetime="{iso}"' in body and ">5 min</time>" in body


def test_filters_search_and_unread_badge(agent, merchant):
    wanted = ConversationFactory(
        merchant=merchant, labels=["vip"], unread_count=3, last_message_preview="refund please"
    )
    ConversationFactory(merchant=merchant, labels=["other"], last_message_preview="shipping")
    body = agent.get(url("inbox"), {"view": "all", "label": "vip"}).content.decode()
    assert "refund please" in body and "shipping" not in body
    body = agent.get(url("inbox"), {"view": "all", "q": "refund"}, **HTMX, HTTP_HX_TARGET="conversation-list")
    text = body.content.decode()
    assert text.lstrip().startswith('<ul id="conversation-list"') and "refund please" in text and "shipping" not in text
    assert 'data-count="3"' in text and f'id="row-{wanted.pk}"' in text
    body = agent.get(url("inbox"), {"view": "all", "channel": wanted.channel_id}).content.decode()
    assert "refund please" in body and "shipping" not in body


def test_inbox_list_query_count_is_constant(agent, merchant, django_assert_num_queries):
    for _ in range(3):
        ConversationFactory(merchant=merchant)
    with django_assert_num_queries(9) as small:  # the tab counts are one of them
        agent.get(url("inbox"), {"view": "all"})
    for _ in range(20):
        ConversationFactory(merchant=merchant)
    with django_assert_num_queries(len(small.captured_queries)):
        response = agent.get(url("inbox"), {"view": "all"})
    assert response.content.count(b'class="conversation-row') == 23


# --------------------------------------------------------------------------- conversation view
def test_html_and_script_in_messages_are_shown_as_text(agent, merchant):
    conversation = ConversationFactory(merchant=merchant)
    conversation.contact.name = "<img src=x onerror=alert(1)>"
    conversation.contact.save()
    MessageFactory(conversation=conversation, body="<script>alert('x')</script><b>bold</b>")
    body = agent.get(url("conversation", conversation.pk)).content.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_history_pages_backwards(agent, merchant):
    conversation = ConversationFactory(merchant=merchant)
    messages = [MessageFactory(conversation=conversation, body=f"m{n:02d}") for n in range(35)]
    body = agent.get(url("conversation", conversation.pk)).content.decode()
    assert "m34" in body and "m05" in body and "m04" not in body
    older = f"{url('messages_older', conversation.pk)}?before={messages[5].pk}"
    assert older.replace("?", "?") in body.replace("&amp;", "&")
    page = agent.get(older, **HTMX).content.decode()
    assert [f"m{n:02d}" in page for n in range(6)] == [True] * 5 + [False]
    assert "Load older" not in page


def test_sidebar_shows_consent_and_registered_panels(agent, merchant):
    conversation = ConversationFactory(merchant=merchant)
    consent_record(
        merchant=merchant, contact=conversation.contact, channel="whatsapp", purpose="marketing", action="grant",
        source="agent", wording="Agreed on the phone.",
    )  # fmt: skip
    panels.register_inbox_panel(
        "test-tickets",
        panels.InboxPanel(
            title="Tickets", render=lambda *, conversation, request: format_html("<p>#T-{}</p>", conversation.pk)
        ),
    )
    try:
        body = agent.get(url("conversation", conversation.pk)).content.decode()
    finally:
        panels.unregister_inbox_panel("test-tickets")
    assert "consent-granted" in body and "WhatsApp · Marketing" in body
    assert f"<p>#T-{conversation.pk}</p>" in body


# --------------------------------------------------------------------------- composer
def test_send_reply_note_and_canned_expansion(agent, agent_membership, webchat_conversation):
    CannedResponseFactory(merchant=webchat_conversation.merchant, shortcut="hi", body="Hello from the team!")
    response = agent.post(url("message_send", webchat_conversation.pk), {"text": "Plain reply"}, **HTMX)
    assert response.status_code == 200, response.content.decode()
    agent.post(url("message_send", webchat_conversation.pk), {"text": "internal", "is_note": "on"}, **HTMX)
    agent.post(url("message_send", webchat_conversation.pk), {"text": "/hi"}, **HTMX)
    rows = list(Message.objects.filter(conversation=webchat_conversation).order_by("id").values_list("kind", "body"))
    assert rows == [("text", "Plain reply"), ("note", "internal"), ("text", "Hello from the team!")]
    assert Message.objects.filter(author=agent_membership.user).count() == 3


def test_empty_reply_is_refused_with_a_reason(agent, webchat_conversation):
    response = agent.post(url("message_send", webchat_conversation.pk), {"text": "  "}, **HTMX)
    assert response.status_code == 422
    assert "Write a message or attach a file." in response.content.decode()
    assert not Message.objects.exists()


def test_attachments_are_validated_and_stored(agent, webchat_conversation, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024), content_type="application/pdf")
    response = agent.post(url("message_send", webchat_conversation.pk), {"text": "x", "attachment": big}, **HTMX)
    assert response.status_code == 413
    assert response.content.decode() == "The file is too large; files may be at most 10 MB."
    exe = SimpleUploadedFile("run.exe", b"MZ...", content_type="application/x-msdownload")
    response = agent.post(url("message_send", webchat_conversation.pk), {"attachment": exe}, **HTMX)
    assert response.status_code == 422 and "allowed types" in response.content.decode()
    assert not Message.objects.exists() and not Attachment.objects.exists()
    ok = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 hello", content_type="application/pdf")
    response = agent.post(url("message_send", webchat_conversation.pk), {"attachment": ok}, **HTMX)
    assert response.status_code == 200
    attachment = Attachment.objects.get()
    assert attachment.message.attachments[0]["filename"] == "invoice.pdf"
    download = agent.get(url("attachment", attachment.pk))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 hello"
    item = agent.get(url("message_item", webchat_conversation.pk, attachment.message_id), **HTMX).content.decode()
    assert item.lstrip().startswith(f'<li id="msg-{attachment.message_id}"')
    assert f'href="{url("attachment", attachment.pk)}"' in item
    other = ConversationFactory(merchant=webchat_conversation.merchant)
    assert agent.get(url("message_item", other.pk, attachment.message_id)).status_code == 404


def test_blocked_reply_explains_why(agent, merchant):
    from tests.factories.conversations import ChannelFactory

    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, last_inbound_at=timezone.now() - timedelta(days=2)
    )
    body = agent.get(url("conversation", conversation.pk)).content.decode()
    assert "Replies are blocked" in body and "more than 24 hours old" in body
    response = agent.post(url("message_send", conversation.pk), {"text": "hello?"}, **HTMX)
    assert response.status_code == 422
    assert 'data-code="outside_service_window"' in response.content.decode()
    assert not Message.objects.exists()
    # The customer writes again: the composer the page re-fetches has no block any more.
    conversation.last_inbound_at = timezone.now()
    conversation.save(update_fields=["last_inbound_at"])
    fresh = agent.get(url("composer", conversation.pk), **HTMX).content.decode()
    assert 'id="composer"' in fresh and "Replies are blocked" not in fresh


# --------------------------------------------------------------------------- actions
def test_assign_status_snooze_labels(agent, agent_membership, marketer_membership, webchat_conversation):
    c = webchat_conversation
    assert agent.post(url("assign", c.pk), {"assignee": agent_membership.user_id}, **HTMX).status_code == 204
    c.refresh_from_db()
    assert c.assignee_id == agent_membership.user_id
    response = agent.post(url("assign", c.pk), {"assignee": marketer_membership.user_id}, **HTMX)
    assert response.status_code == 422 and "assignee" in response.content.decode()
    assert agent.post(url("status", c.pk), {"status": "pending"}, **HTMX).status_code == 204
    assert agent.post(url("status", c.pk), {"status": "bogus"}, **HTMX).status_code == 422
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = agent.post(url("snooze", c.pk), {"until": past}, **HTMX)
    assert response.status_code == 422 and "future" in response.content.decode()
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert agent.post(url("snooze", c.pk), {"until": future}, **HTMX).status_code == 204
    assert agent.post(url("labels", c.pk), {"labels": "vip, refund, vip"}, **HTMX).status_code == 204
    response = agent.post(url("labels", c.pk), {"labels": "x" * 60}, **HTMX)
    assert response.status_code == 422
    c.refresh_from_db()
    assert (c.status, c.labels) == ("snoozed", ["vip", "refund"])
    assert c.snoozed_until > timezone.now()
    # Without htmx the same actions redirect back with a message.
    response = agent.post(url("status", c.pk), {"status": "resolved"})
    assert response.status_code == 302 and Conversation.objects.get(pk=c.pk).status == "resolved"


# --------------------------------------------------------------------------- widget settings
def test_widget_page_shows_the_snippet_and_saves_origins(admin_client_, merchant, agent):
    channel = webchat_channel(merchant, allowed_origins=[])
    assert url("channels") in admin_client_.get(url("inbox")).content.decode()
    assert url("channels") not in agent.get(url("inbox")).content.decode()
    listing = admin_client_.get(url("channels")).content.decode()
    assert channel.name in listing and url("widget_settings", channel.pk) in listing
    page = admin_client_.get(url("widget_settings", channel.pk))
    assert page.status_code == 200
    assert f"/inbox/widget/{channel.public_key}.js" in page.content.decode()
    assert agent.get(url("widget_settings", channel.pk)).status_code == 403
    response = admin_client_.post(
        url("widget_settings", channel.pk),
        {"name": "Shop chat", "allowed_origins": "https://shop.example/\nhttp://localhost:8080",
         "consent_wording": "Yes, e-mail me offers.", "consent_channel": "email"},
    )  # fmt: skip
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.allowed_origins == ["https://shop.example", "http://localhost:8080"]
    assert channel.settings["consent_wording"] == "Yes, e-mail me offers."
    response = admin_client_.post(
        url("widget_settings", channel.pk),
        {"name": "Shop chat", "allowed_origins": "https://shop.example/path", "consent_channel": "email"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["allowed_origins"] == [
        "Line 1: “https://shop.example/path” is a page address; use only the origin, https://shop.example (no path)."
    ]


def test_the_composer_still_checks_csrf_after_its_upload_limit(agent_membership, webchat_conversation):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(agent_membership.user)
    response = client.post(url("message_send", webchat_conversation.pk), {"text": "hello"})
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_conversation_pane_query_count_is_exact_for_1_and_20_messages(
    agent, agent_membership, merchant, django_assert_num_queries
):
    conversation = ConversationFactory(merchant=merchant)

    def add(i):  # even ones come from the contact with a file, odd ones from an agent
        if i % 2:
            MessageFactory(
                conversation=conversation, direction="outbound", author_kind="agent", author=agent_membership.user
            )
            return
        message = MessageFactory(conversation=conversation)
        Attachment.objects.create(merchant=merchant, message=message, media_type="image", filename=f"p{i}.jpg")

    add(0)
    with django_assert_num_queries(18) as one:  # the tab counts and the contact's conversations panel among them
        agent.get(url("conversation", conversation.pk))
    for i in range(1, 20):
        add(i)
    with django_assert_num_queries(len(one.captured_queries)):
        response = agent.get(url("conversation", conversation.pk))
    assert response.status_code == 200 and len(response.context["history"]) == 20
