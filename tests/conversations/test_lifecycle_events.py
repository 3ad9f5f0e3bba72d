"""Each resolution and reopening is kept (resolved_at is cleared on reopen): the reports count from these rows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.conversations.models import ConversationLifecycleEvent
from apps.conversations.services import conversation_assign, conversation_set_status, message_receive
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db


def history(conversation):
    rows = ConversationLifecycleEvent.objects.filter(conversation=conversation).order_by("id")
    return [(row.kind, row.assignee_id) for row in rows]


def test_resolve_reopen_resolve_keeps_each_step_with_the_assignee_then(merchant, agent_membership):
    conversation = ConversationFactory(merchant=merchant)
    conversation = conversation_assign(conversation=conversation, assignee=agent_membership.user)
    conversation_set_status(conversation=conversation, status="resolved")
    conversation_set_status(conversation=conversation, status="open")
    conversation = conversation_assign(conversation=conversation, assignee=None)
    conversation_set_status(conversation=conversation, status="resolved")
    me = agent_membership.user.pk
    assert history(conversation) == [("resolved", me), ("reopened", me), ("resolved", None)]


def test_status_changes_that_neither_resolve_nor_reopen_leave_no_row(merchant):
    conversation = ConversationFactory(merchant=merchant)
    conversation_set_status(conversation=conversation, status="pending")
    conversation_set_status(conversation=conversation, status="open")
    conversation_set_status(conversation=conversation, status="resolved")
    conversation_set_status(conversation=conversation, status="resolved")  # already resolved: nothing new
    assert history(conversation) == [("resolved", None)]


def test_a_customer_writing_again_reopens_and_it_is_recorded(merchant):
    conversation = ConversationFactory(merchant=merchant)
    conversation_set_status(conversation=conversation, status="resolved")
    message = message_receive(
        channel=conversation.channel, contact=conversation.contact, provider_message_id="again", kind="text",
        body="hola otra vez", attachments=[], received_at=timezone.now(),
    )  # fmt: skip
    assert message.conversation_id == conversation.pk
    assert history(conversation) == [("resolved", None), ("reopened", None)]
