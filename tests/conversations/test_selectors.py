"""Inbox reads: the tab counts."""

from __future__ import annotations

import pytest

from apps.conversations import selectors
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db


def test_tab_counts_are_one_query_and_scoped_to_the_merchant(
    merchant, other_merchant, agent_membership, admin_membership, django_assert_num_queries
):
    agent = agent_membership.user
    ConversationFactory(merchant=merchant, assignee=agent)
    ConversationFactory(merchant=merchant, assignee=agent, status="resolved")
    ConversationFactory(merchant=merchant, assignee=admin_membership.user)
    ConversationFactory(merchant=merchant)
    ConversationFactory(merchant=other_merchant)
    with django_assert_num_queries(1):
        open_counts = selectors.conversation_tab_counts(merchant=merchant, user=agent, status="open")
    assert open_counts == {"mine": 1, "unassigned": 1, "all": 3}
    assert selectors.conversation_tab_counts(merchant=merchant, user=agent) == {"mine": 2, "unassigned": 1, "all": 4}


def test_tab_counts_of_an_empty_inbox_are_zero(merchant, agent_membership):
    assert selectors.conversation_tab_counts(merchant=merchant, user=agent_membership.user, status="open") == {
        "mine": 0,
        "unassigned": 0,
        "all": 0,
    }
