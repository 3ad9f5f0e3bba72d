"""Ticket services: numbering, creation, replies under the channel policy, merge, auto-close, macros, CSAT."""

from datetime import timedelta
from threading import Barrier, Thread

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.conversations.models import Message, MessageDirection
from apps.conversations.policy import PolicyRefused
from apps.tickets.models import Ticket, TicketComment, TicketEvent, TicketStatus
from apps.tickets.services import (
    TicketRefused,
    csat_answer,
    csat_ticket_for_token,
    macro_apply,
    macro_save,
    ticket_comment_add,
    ticket_create_from_conversation,
    ticket_merge,
    ticket_update,
    tickets_autoclose,
)
from apps.tickets.services.csat import csat_token
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory, MerchantFactory
from tests.factories.tickets import MacroFactory, TeamFactory, make_ticket


@pytest.fixture
def agent(agent_membership):
    return agent_membership.user


@pytest.fixture
def conversation(merchant):
    return ConversationFactory(merchant=merchant)


# ------------------------------------------------------------------ numbering and creation
@pytest.mark.django_db
def test_numbers_are_per_merchant_and_sequential(merchant, other_merchant):
    numbers = [make_ticket(merchant).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert make_ticket(other_merchant).number == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_never_share_a_number():
    merchant = MerchantFactory()
    barrier, errors = Barrier(6), []

    def create():
        try:
            barrier.wait()
            make_ticket(merchant)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(Ticket.objects.filter(merchant=merchant).values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]


@pytest.mark.django_db
def test_create_records_the_created_event(merchant, agent):
    ticket = make_ticket(merchant, actor=agent, tags=["refund", "refund", " "])
    assert ticket.tags == ["refund"]
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor) == ("created", agent)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"priority": "critical"}, "priority"),
        ({"status": "solved"}, "status"),
        ({"tags": "refund"}, "tags"),
    ],
)
def test_create_refuses_bad_input(merchant, kwargs, field):
    with pytest.raises(ValidationError) as exc:
        make_ticket(merchant, **kwargs)
    assert field in exc.value.message_dict
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_create_refuses_other_merchants_rows(merchant, other_merchant, marketer_membership):
    with pytest.raises(ValidationError, match="another merchant"):
        make_ticket(merchant, contact=ContactFactory(merchant=other_merchant))
    with pytest.raises(ValidationError, match="another merchant"):
        make_ticket(merchant, team=TeamFactory(merchant=other_merchant))
    with pytest.raises(ValidationError, match="another merchant"):
        make_ticket(merchant, conversations=[ConversationFactory(merchant=other_merchant)])
    with pytest.raises(ValidationError, match="not an agent"):  # a marketer cannot work tickets
        make_ticket(merchant, assignee=marketer_membership.user)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_from_conversation_copies_the_transcript_and_links_it(merchant, conversation, agent):
    MessageFactory(conversation=conversation, body="My parcel never arrived")
    MessageFactory(
        conversation=conversation,
        direction=MessageDirection.OUTBOUND,
        author_kind="agent",
        author=agent,
        body="Let me check",
        status="sent",
    )
    MessageFactory(
        conversation=conversation,
        kind="note",
        direction="outbound",
        author_kind="agent",
        body="secret note",
        status="sent",
    )
    ticket = ticket_create_from_conversation(conversation=conversation, actor=agent)
    assert list(ticket.conversations.all()) == [conversation]
    assert ticket.contact == conversation.contact
    assert "My parcel never arrived" in ticket.description and "Let me check" in ticket.description
    assert "secret note" not in ticket.description
    assert ticket.description.index("My parcel") < ticket.description.index("Let me check")
    assert str(conversation.contact) in ticket.subject


# ------------------------------------------------------------------ replies and comments
@pytest.mark.django_db
def test_public_reply_goes_through_message_send(merchant, conversation, agent):
    ticket = make_ticket(merchant, conversations=[conversation])
    comment = ticket_comment_add(ticket=ticket, body="We are refunding you", public=True, actor=agent)
    message = Message.objects.get(pk=comment.message_id)
    assert (message.conversation, message.body, message.direction, message.status) == (
        conversation,
        "We are refunding you",
        "outbound",
        "queued",
    )


@pytest.mark.django_db
def test_refused_reply_writes_nothing(merchant, agent):
    old = ConversationFactory(merchant=merchant, last_inbound_at=timezone.now() - timedelta(days=3))
    ticket = make_ticket(merchant, conversations=[old])
    with pytest.raises(PolicyRefused) as exc:
        ticket_comment_add(ticket=ticket, body="Hello?", public=True, actor=agent)
    assert exc.value.code == "outside_service_window"
    assert not TicketComment.objects.exists()
    assert not Message.objects.exists()
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


@pytest.mark.django_db
def test_reply_without_a_conversation_is_refused_but_internal_comment_works(merchant, agent):
    ticket = make_ticket(merchant)
    with pytest.raises(TicketRefused) as exc:
        ticket_comment_add(ticket=ticket, body="Hi", public=True, actor=agent)
    assert exc.value.code == "no_conversation"
    comment = ticket_comment_add(ticket=ticket, body="Called the courier", public=False, actor=agent)
    assert not comment.is_public and comment.message_id is None


# ------------------------------------------------------------------ update, merge, auto-close
@pytest.mark.django_db
def test_update_records_one_event_per_change_and_nothing_for_no_change(merchant, agent):
    team = TeamFactory(merchant=merchant)
    ticket = make_ticket(merchant)
    ticket_update(ticket=ticket, actor=agent, priority="high", team=team, assignee=agent, subject=ticket.subject)
    changes = list(TicketEvent.objects.filter(ticket=ticket, kind="changed").values_list("field", "new_value"))
    assert sorted(changes) == [("assignee", agent.pk), ("priority", "high"), ("team", team.pk)]


@pytest.mark.django_db
def test_closed_tickets_cannot_change(merchant, agent):
    ticket = make_ticket(merchant)
    ticket_update(ticket=ticket, actor=agent, status=TicketStatus.CLOSED)
    with pytest.raises(TicketRefused):
        ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)


@pytest.mark.django_db
def test_events_are_append_only(merchant):
    event = TicketEvent.objects.get(ticket=make_ticket(merchant))
    event.kind = "changed"
    with pytest.raises(ValidationError):
        event.save()


@pytest.mark.django_db
def test_merge_moves_comments_and_links_and_closes_the_source(merchant, agent):
    c1, c2 = ConversationFactory(merchant=merchant), ConversationFactory(merchant=merchant)
    source = make_ticket(merchant, conversations=[c1], tags=["a"])
    target = make_ticket(merchant, conversations=[c2], tags=["b"])
    ticket_comment_add(ticket=source, body="note", public=False, actor=agent)
    ticket_merge(source=source, target=target, actor=agent)
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.status, source.merged_into) == (TicketStatus.CLOSED, target)
    assert source.first_response_due_at is None
    assert set(target.conversations.all()) == {c1, c2}
    assert target.comments.get().body == "note"
    assert target.tags == ["b", "a"]
    assert TicketEvent.objects.get(ticket=source, kind="merged").data["into_number"] == target.number
    assert TicketEvent.objects.get(ticket=target, kind="merged_from").data["from_number"] == source.number
    with pytest.raises(TicketRefused):
        ticket_merge(source=source, target=target, actor=agent)
    with pytest.raises(TicketRefused):
        ticket_merge(source=target, target=target, actor=agent)


@pytest.mark.django_db
def test_autoclose_after_the_merchants_days(merchant, other_merchant, agent):
    other_merchant.settings = {"tickets_autoclose_days": 10}
    other_merchant.save()
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=5), tick=False):
        mine = make_ticket(merchant)
        ticket_update(ticket=mine, actor=agent, status=TicketStatus.SOLVED)
        theirs = make_ticket(other_merchant)
        ticket_update(ticket=theirs, actor=None, status=TicketStatus.SOLVED)
    recent = make_ticket(merchant)
    ticket_update(ticket=recent, actor=agent, status=TicketStatus.SOLVED)
    with time_machine.travel(now, tick=False):
        assert tickets_autoclose() == 1
        assert tickets_autoclose() == 0
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses == {mine.pk: "closed", theirs.pk: "solved", recent.pk: "solved"}
    assert TicketEvent.objects.filter(ticket=mine, field="status", new_value="closed").count() == 1


# ------------------------------------------------------------------ macros
@pytest.mark.django_db
def test_macro_applies_reply_and_changes_in_one_go(merchant, conversation, agent):
    team = TeamFactory(merchant=merchant)
    macro = MacroFactory(
        merchant=merchant,
        name="Refund",
        reply_text="Hi {{contact.name}}, ticket #{{ticket.number}} is refunded.",
        set_status=TicketStatus.PENDING,
        set_priority="high",
        add_tags=["refund"],
        set_team=team,
    )
    ticket = make_ticket(merchant, conversations=[conversation], tags=["old"])
    macro_apply(ticket=ticket, macro=macro, actor=agent)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.team, ticket.tags) == ("pending", "high", team, ["old", "refund"])
    comment = ticket.comments.get()
    assert comment.is_public
    assert comment.body == f"Hi {conversation.contact.name}, ticket #{ticket.number} is refunded."
    macro_events = TicketEvent.objects.filter(ticket=ticket, data__macro="Refund")
    assert sorted(macro_events.values_list("field", flat=True)) == ["priority", "status", "tags", "team"]


@pytest.mark.django_db
def test_macro_with_refused_reply_changes_nothing(merchant, agent):
    macro = MacroFactory(merchant=merchant, reply_text="Hello", set_status=TicketStatus.SOLVED)
    ticket = make_ticket(merchant)  # no conversation: the public reply is refused
    with pytest.raises(TicketRefused):
        macro_apply(ticket=ticket, macro=macro, actor=agent)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW


@pytest.mark.django_db
def test_macro_refuses_unknown_variables(merchant):
    macro = MacroFactory.build(merchant=merchant, name="Bad", reply_text="Hi {{contact.password}}")
    with pytest.raises(ValidationError, match=r"contact\.password"):
        macro_save(merchant=merchant, macro=macro)


# ------------------------------------------------------------------ CSAT
@pytest.mark.django_db
def test_solving_sends_the_survey_on_the_conversation(merchant, conversation, agent):
    ticket = make_ticket(merchant, conversations=[conversation])
    ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.SOLVED)
    assert ticket.csat_sent_via == "conversation"
    survey = Message.objects.get(conversation=conversation)
    assert survey.automated and "/tickets/csat/" in survey.body
    ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    ticket_update(ticket=ticket, actor=agent, status=TicketStatus.SOLVED)
    assert Message.objects.filter(conversation=conversation).count() == 1  # once per ticket


@pytest.mark.django_db
def test_survey_falls_back_to_email_outside_the_window(merchant, agent, django_capture_on_commit_callbacks):
    old = ConversationFactory(merchant=merchant, last_inbound_at=timezone.now() - timedelta(days=2))
    ticket = make_ticket(merchant, conversations=[old])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.SOLVED)
    assert (ticket.csat_sent_via, ticket.csat_note) == ("email", "outside_service_window")
    assert not Message.objects.exists()
    assert mail.outbox[0].to == [old.contact.email]
    assert "/tickets/csat/" in mail.outbox[0].body


@pytest.mark.django_db
def test_survey_without_channel_or_email_is_link_only(merchant, agent):
    contact = ContactFactory(merchant=merchant, email="")
    ticket = make_ticket(merchant, contact=contact)
    ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.SOLVED)
    assert (ticket.csat_sent_via, ticket.csat_note) == ("link", "no_conversation")


@pytest.mark.django_db
def test_a_csat_comment_that_text_cannot_hold_is_refused_and_nothing_is_recorded(merchant):
    ticket = make_ticket(merchant)
    with pytest.raises(ValidationError) as excinfo:
        csat_answer(ticket=ticket, rating=3, comment="ok\x00")
    assert excinfo.value.message_dict == {"comment": ["Must not contain NUL characters."]}
    ticket.refresh_from_db()
    assert ticket.csat_rating is None and ticket.csat_answered_at is None


@pytest.mark.django_db
def test_csat_answer_can_change_for_seven_days(merchant):
    ticket = make_ticket(merchant)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        csat_answer(ticket=ticket, rating=2, comment="slow")
    with time_machine.travel(start + timedelta(days=6), tick=False):
        ticket = csat_answer(ticket=ticket, rating=4, comment="fixed in the end")
    assert (ticket.csat_rating, ticket.csat_comment) == (4, "fixed in the end")
    with time_machine.travel(start + timedelta(days=8), tick=False), pytest.raises(ValidationError):
        csat_answer(ticket=ticket, rating=5)
    ticket.refresh_from_db()
    assert ticket.csat_rating == 4 and ticket.csat_answered_at == start
    assert TicketEvent.objects.filter(ticket=ticket, kind="csat_answered").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("rating", [0, 6, True, "5"])
def test_csat_rating_must_be_1_to_5(merchant, rating):
    with pytest.raises(ValidationError):
        csat_answer(ticket=make_ticket(merchant), rating=rating)


@pytest.mark.django_db
def test_csat_token_is_signed_and_bound_to_the_ticket(merchant):
    ticket = make_ticket(merchant)
    token = csat_token(ticket)
    assert csat_ticket_for_token(token) == ticket
    assert csat_ticket_for_token(token[:-2] + "xx") is None
    assert csat_ticket_for_token("garbage") is None


@pytest.mark.django_db
def test_team_members_must_be_agents(merchant, marketer_membership, agent):
    from apps.tickets.services import team_save

    with pytest.raises(ValidationError):
        team_save(merchant=merchant, name="Support", members=[marketer_membership.user])
    team = team_save(merchant=merchant, name="Support", members=[agent])
    assert list(team.members.all()) == [agent]
    with pytest.raises(ValidationError, match="already exists"):
        team_save(merchant=merchant, name="Support")
    outsider = MembershipFactory(merchant=MerchantFactory()).user
    with pytest.raises(ValidationError):
        team_save(merchant=merchant, team=team, name="Support", members=[outsider])
