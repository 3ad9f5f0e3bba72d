"""Agent actions, assignment, presence, selectors (query counts, keyset), retention and privacy hooks."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.contacts.redaction import Traces
from apps.conversations import selectors
from apps.conversations.models import AgentPresence, Conversation, LiveEvent, Message
from apps.conversations.privacy import privacy_erase, privacy_export, privacy_merge
from apps.conversations.services import (
    conversation_assign,
    conversation_mark_read,
    conversation_set_labels,
    conversation_set_status,
    conversation_snooze,
    conversations_wake_snoozed,
    message_receive,
    messages_redact_expired,
    presence_set,
)
from apps.conversations.services.erasure import webhook_events_redact
from apps.core.keyset import CursorInvalid
from apps.core.roles import Role
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db


def last_event():
    return LiveEvent.objects.order_by("-id").first()


# --------------------------------------------------------------------------- agent actions
def test_assign_to_agent_publishes(merchant, agent_membership):
    conversation = ConversationFactory(merchant=merchant)
    conversation = conversation_assign(conversation=conversation, assignee=agent_membership.user)
    assert conversation.assignee == agent_membership.user
    event = last_event()
    assert event.kind == "conversation.updated" and event.payload["assignee_id"] == agent_membership.user.pk
    assert event.payload["internal"] is True


def test_assign_refuses_marketers_and_strangers(merchant, marketer_membership, other_admin_membership):
    conversation = ConversationFactory(merchant=merchant)
    for user in (marketer_membership.user, other_admin_membership.user):
        with pytest.raises(ValidationError) as excinfo:
            conversation_assign(conversation=conversation, assignee=user)
        assert "assignee" in excinfo.value.message_dict
    assert Conversation.objects.get().assignee_id is None


def test_resolve_then_reopen(merchant):
    conversation = ConversationFactory(merchant=merchant)
    resolved = conversation_set_status(conversation=conversation, status="resolved")
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    reopened = conversation_set_status(conversation=conversation, status="open")
    assert reopened.status == "open" and reopened.resolved_at is None


def test_reopening_refused_when_another_is_unresolved(merchant):
    old = ConversationFactory(merchant=merchant, status="resolved", resolved_at=timezone.now())
    ConversationFactory(merchant=merchant, channel=old.channel, contact=old.contact, identity=False)
    with pytest.raises(ValidationError) as excinfo:
        conversation_set_status(conversation=old, status="open")
    assert "status" in excinfo.value.message_dict


def test_snooze_and_wake(merchant):
    conversation = ConversationFactory(merchant=merchant)
    with pytest.raises(ValidationError):
        conversation_snooze(conversation=conversation, until=timezone.now() - timedelta(minutes=1))
    conversation_snooze(conversation=conversation, until=timezone.now() + timedelta(hours=1))
    assert conversations_wake_snoozed() == 0
    assert conversations_wake_snoozed(now=timezone.now() + timedelta(hours=2)) == 1
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.snoozed_until is None


@pytest.mark.parametrize("labels", ["vip", [1], [""], ["x" * 51], [f"l{i}" for i in range(21)]])
def test_bad_labels(merchant, labels):
    conversation = ConversationFactory(merchant=merchant)
    with pytest.raises(ValidationError):
        conversation_set_labels(conversation=conversation, labels=labels)


def test_labels_are_trimmed_and_deduplicated(merchant):
    conversation = conversation_set_labels(
        conversation=ConversationFactory(merchant=merchant), labels=[" vip", "vip", "late"]
    )
    assert conversation.labels == ["vip", "late"]


def test_mark_read_publishes_only_when_something_changed(merchant):
    conversation = ConversationFactory(merchant=merchant, unread_count=3)
    conversation_mark_read(conversation=conversation)
    assert Conversation.objects.get().unread_count == 0
    count = LiveEvent.objects.count()
    conversation_mark_read(conversation=conversation)
    assert LiveEvent.objects.count() == count


# --------------------------------------------------------------------------- presence and round robin
def test_presence_set_and_publish(merchant, agent_membership):
    presence_set(merchant=merchant, user=agent_membership.user, status="online")
    presence_set(merchant=merchant, user=agent_membership.user, status="online")
    presence = AgentPresence.objects.get()
    assert presence.status == "online"
    assert LiveEvent.objects.filter(kind="presence.updated").count() == 1
    with pytest.raises(ValidationError):
        presence_set(merchant=merchant, user=agent_membership.user, status="busy")


def test_round_robin_spreads_new_conversations_among_online_agents(merchant):
    merchant.settings = {"round_robin": True}
    merchant.save()
    agents = [MembershipFactory(merchant=merchant, role=Role.AGENT).user for _ in range(2)]
    away = MembershipFactory(merchant=merchant, role=Role.AGENT).user
    for user in agents:
        presence_set(merchant=merchant, user=user, status="online")
    presence_set(merchant=merchant, user=away, status="away")
    channel = ChannelFactory(merchant=merchant, kind="webchat")
    assignees = []
    for i in range(4):
        message = message_receive(
            channel=channel,
            contact=ContactFactory(merchant=merchant),
            provider_message_id=f"p{i}",
            kind="text",
            body="hola",
            attachments=[],
            received_at=timezone.now(),
        )
        assignees.append(message.conversation.assignee)
    assert away not in assignees
    assert assignees.count(agents[0]) == 2 and assignees.count(agents[1]) == 2


def test_without_round_robin_new_conversations_are_unassigned(merchant, agent_membership):
    presence_set(merchant=merchant, user=agent_membership.user, status="online")
    channel = ChannelFactory(merchant=merchant, kind="webchat")
    message = message_receive(
        channel=channel,
        contact=ContactFactory(merchant=merchant),
        provider_message_id="p",
        kind="text",
        body="hola",
        attachments=[],
        received_at=timezone.now(),
    )
    assert message.conversation.assignee is None


# --------------------------------------------------------------------------- selectors
@pytest.mark.parametrize("size", [5, 50])
def test_conversation_list_constant_queries(merchant, django_assert_num_queries, size):
    for _ in range(size + 1):
        ConversationFactory(merchant=merchant)
    with django_assert_num_queries(1):
        page = selectors.conversation_list(merchant=merchant, limit=size)
        names = [(c.contact.name, c.channel.kind, c.assignee) for c in page.items]
    assert len(names) == size and page.next_cursor


def test_conversation_list_keyset_walks_every_row_once(merchant):
    now = timezone.now()
    made = [ConversationFactory(merchant=merchant, last_message_at=now - timedelta(minutes=i // 2)) for i in range(7)]
    seen, cursor = [], None
    while True:
        page = selectors.conversation_list(merchant=merchant, before=cursor, limit=3)
        seen += [c.pk for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = [c.pk for c in sorted(made, key=lambda c: (c.last_message_at, c.pk), reverse=True)]
    assert seen == expected


def test_conversation_list_views_and_filters(merchant, agent_membership):
    mine = ConversationFactory(merchant=merchant, assignee=agent_membership.user, labels=["vip"])
    unassigned = ConversationFactory(merchant=merchant, contact__name="Lucía Fernández")
    ConversationFactory()  # another merchant
    user = agent_membership.user

    def ids(**kwargs):
        return [c.pk for c in selectors.conversation_list(merchant=merchant, user=user, **kwargs).items]

    assert ids(view="mine") == [mine.pk]
    assert ids(view="unassigned") == [unassigned.pk]
    assert set(ids(view="all")) == {mine.pk, unassigned.pk}
    assert ids(label="vip") == [mine.pk]
    assert ids(label="vi") == []
    assert ids(search="lucía") == [unassigned.pk]
    assert ids(assignee_id=user.pk) == [mine.pk]
    assert ids(channel_id=mine.channel_id) == [mine.pk]
    assert ids(status="resolved") == []
    with pytest.raises(CursorInvalid):
        selectors.cursor_decode("garbage!")


@pytest.mark.parametrize("size", [5, 50])
def test_message_history_constant_queries(merchant, django_assert_num_queries, size):
    conversation = ConversationFactory(merchant=merchant)
    for _ in range(size + 2):
        MessageFactory(conversation=conversation)
    with django_assert_num_queries(2):
        page = selectors.message_history(conversation=conversation, limit=size)
        [(m.author, list(m.files.all())) for m in page.items]
    assert len(page.items) == size
    ids = [m.pk for m in page.items]
    assert ids == sorted(ids)  # oldest first for rendering
    older = selectors.message_history(conversation=conversation, before_id=page.next_before_id, limit=size)
    assert len(older.items) == 2 and older.next_before_id is None


def test_dashboard_cards(merchant):
    ConversationFactory(merchant=merchant)
    ConversationFactory(merchant=merchant, status="resolved")
    cards = {c.title: c.value for c in selectors.dashboard_cards(merchant=merchant)}
    assert cards == {"Open conversations": "1", "Unassigned conversations": "1"}


# --------------------------------------------------------------------------- retention and privacy
def test_retention_blanks_old_bodies_only_for_merchants_that_ask(merchant, other_merchant):
    merchant.settings = {"message_retention_days": 30}
    merchant.save()
    old = MessageFactory(
        conversation__merchant=merchant, body="old secret", created_at=timezone.now() - timedelta(days=31)
    )
    recent = MessageFactory(conversation__merchant=merchant, body="recent")
    untouched = MessageFactory(
        conversation__merchant=other_merchant, body="keep", created_at=timezone.now() - timedelta(days=400)
    )
    assert messages_redact_expired(batch=1) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    untouched.refresh_from_db()
    assert old.body == "" and old.redacted_at is not None
    assert recent.body == "recent" and untouched.body == "keep"
    assert messages_redact_expired() == 0


def test_privacy_export_erase_and_merge(merchant):
    conversation = ConversationFactory(merchant=merchant)
    MessageFactory(conversation=conversation, body="mi dirección es X")
    MessageFactory(
        conversation=conversation,
        body="agent note",
        kind="note",
        direction="outbound",
        author_kind="agent",
        status="sent",
    )
    exported = privacy_export(conversation.contact)
    assert exported[0]["messages"] == [
        {**exported[0]["messages"][0], "body": "mi dirección es X", "direction": "inbound"}
    ]
    target = ContactFactory(merchant=merchant)
    target_open = ConversationFactory(merchant=merchant, channel=conversation.channel, contact=target)
    privacy_merge(source=conversation.contact, target=target)
    conversation.refresh_from_db()
    assert conversation.contact == target and conversation.status == "resolved"
    assert target_open.status == "open"
    privacy_erase(contact=target, traces=Traces())
    assert set(Message.objects.values_list("body", flat=True)) == {""}


def test_privacy_hooks_and_dashboard_are_registered_at_startup():
    from apps.contacts import privacy_hooks
    from apps.core.selectors import _dashboard_providers

    assert privacy_hooks.export_sections()["conversations"] is privacy_export
    assert privacy_erase in privacy_hooks.erase_hooks()
    assert webhook_events_redact in privacy_hooks.erase_sweeps()
    assert privacy_merge in privacy_hooks.merge_hooks()
    assert selectors.dashboard_cards in _dashboard_providers


def test_composer_send_expands_only_an_exact_canned_shortcut(merchant):
    from apps.conversations.models import CannedResponse, Message
    from apps.conversations.services import composer_send
    from tests.factories.conversations import ConversationFactory

    conversation = ConversationFactory(merchant=merchant)
    CannedResponse.objects.create(merchant=merchant, shortcut="hours", body="We open 9 to 18.")
    note = composer_send(conversation=conversation, author=None, text="/hours", is_note=True)
    assert note.body == "We open 9 to 18."
    assert composer_send(conversation=conversation, author=None, text="/unknown", is_note=True).body == "/unknown"
    assert composer_send(conversation=conversation, author=None, text="/hours now", is_note=True).body == "/hours now"
    assert Message.objects.filter(conversation=conversation).count() == 3
