"""The tenancy kit: one same-merchant check on every linking write path, the id fields, the agent check."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework import serializers

from apps.contacts.models import Contact
from apps.contacts.services.merge import contact_merge
from apps.conversations.models import Conversation
from apps.conversations.services.conversations import conversation_for_inbound, conversation_start
from apps.core.api.fields import MemberField, MerchantPrimaryKeyField
from apps.core.roles import Capability
from apps.core.tenancy import ensure_same_merchant
from apps.merchants.selectors import member_can, members_who_can
from apps.tickets.services.macros import macro_apply
from apps.tickets.services.tickets import ticket_link_conversation, ticket_merge, ticket_update
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory
from tests.factories.tickets import MacroFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.django_db
REFUSED = "belongs to another merchant"


def test_ensure_same_merchant_names_each_foreign_link(merchant, other_merchant):
    mine, theirs = ContactFactory(merchant=merchant), ContactFactory(merchant=other_merchant)
    ensure_same_merchant(merchant_id=merchant.pk, contact=mine, team=None)
    with pytest.raises(ValidationError) as refused:
        ensure_same_merchant(merchant_id=merchant.pk, contact=mine, source=theirs)
    assert refused.value.message_dict == {"source": [REFUSED]}


def test_save_refuses_a_declared_link_to_another_merchants_row(merchant, other_merchant):
    channel = ChannelFactory(merchant=merchant)
    conversation = Conversation(merchant=merchant, channel=channel, contact=ContactFactory(merchant=other_merchant))
    with pytest.raises(ValidationError) as refused:
        conversation.save()
    assert refused.value.message_dict == {"contact": [REFUSED]}
    assert not Conversation.objects.filter(merchant=merchant).exists()


def test_conversation_services_refuse_another_merchants_contact(merchant, other_merchant):
    channel, foreign = ChannelFactory(merchant=merchant), ContactFactory(merchant=other_merchant)
    with pytest.raises(ValidationError, match=REFUSED):
        conversation_start(channel=channel, contact=foreign)
    with pytest.raises(ValidationError, match=REFUSED):
        conversation_for_inbound(channel=channel, contact=foreign, at=channel.created_at)
    assert not Conversation.objects.exists()


def test_ticket_services_refuse_another_merchants_rows(merchant, other_merchant):
    ticket, foreign_ticket = make_ticket(merchant), make_ticket(other_merchant)
    with pytest.raises(ValidationError, match=REFUSED):
        ticket_update(ticket=ticket, team=TeamFactory(merchant=other_merchant))
    with pytest.raises(ValidationError, match=REFUSED):
        ticket_link_conversation(ticket=ticket, conversation=ConversationFactory(merchant=other_merchant))
    with pytest.raises(ValidationError, match=REFUSED):
        ticket_merge(source=ticket, target=foreign_ticket)
    with pytest.raises(ValidationError, match=REFUSED):
        macro_apply(ticket=ticket, macro=MacroFactory(merchant=other_merchant))
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.merged_into_id, ticket.conversations.count()) == (None, None, 0)


def test_contact_merge_refuses_another_merchants_contact(merchant, other_merchant):
    source, target = ContactFactory(merchant=other_merchant), ContactFactory(merchant=merchant)
    with pytest.raises(ValidationError, match=REFUSED):
        contact_merge(source=source, target=target)
    assert Contact.objects.get(pk=source.pk).merged_into_id is None


class _Links(serializers.Serializer):
    contact = MerchantPrimaryKeyField(queryset=Contact.objects)
    assignee = MemberField()


def test_fields_resolve_only_the_context_merchants_rows(
    merchant, other_merchant, agent_membership, other_admin_membership
):
    mine, theirs = ContactFactory(merchant=merchant), ContactFactory(merchant=other_merchant)
    ok = _Links(data={"contact": mine.pk, "assignee": agent_membership.user_id}, context={"merchant": merchant})
    assert ok.is_valid() and ok.validated_data == {"contact": mine, "assignee": agent_membership.user}
    outsider = other_admin_membership.user
    foreign = _Links(data={"contact": theirs.pk, "assignee": outsider.pk}, context={"merchant": merchant})
    assert not foreign.is_valid()
    assert foreign.errors == {
        "contact": [f'Invalid pk "{theirs.pk}" - object does not exist.'],
        "assignee": [f'Invalid pk "{outsider.pk}" - object does not exist.'],
    }
    assert not _Links(data={"contact": mine.pk, "assignee": agent_membership.user_id}).is_valid()  # no merchant


def test_member_can_is_the_agent_check(merchant, other_merchant, agent_membership, marketer_membership):
    agent, marketer = agent_membership.user, marketer_membership.user
    assert member_can(merchant=merchant, user=agent, capability=Capability.INBOX)
    assert not member_can(merchant=merchant, user=marketer, capability=Capability.INBOX)
    assert not member_can(merchant=other_merchant, user=agent, capability=Capability.INBOX)
    assert not member_can(merchant=merchant, user=None, capability=Capability.INBOX)
    assert [m.user for m in members_who_can(merchant=merchant, capability=Capability.TICKETS)] == [agent]
