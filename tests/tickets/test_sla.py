"""SLA clocks on real tickets, with a frozen clock: business hours, pauses, replies, the beat task."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from apps.conversations.models import LiveEvent
from apps.tickets.models import SlaEvent, SlaMetric, Ticket, TicketEvent, TicketPriority, TicketStatus
from apps.tickets.services import (
    sla_check,
    ticket_comment_add,
    ticket_update,
)
from apps.tickets.services.sla import sla_badges
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import MembershipFactory
from tests.factories.tickets import BusinessHoursFactory, SlaPolicyFactory, TeamFactory, make_ticket

MADRID = ZoneInfo("Europe/Madrid")


def local(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=MADRID)


@pytest.fixture
def hours(merchant):
    return BusinessHoursFactory(merchant=merchant)


@pytest.fixture
def policy(merchant, hours):
    return SlaPolicyFactory(merchant=merchant, business_hours=hours)


@pytest.fixture
def agent(agent_membership):
    return agent_membership.user


def _ticket_at(when, merchant, **kwargs):
    with time_machine.travel(when, tick=False):
        conversation = ConversationFactory(merchant=merchant)
        return make_ticket(merchant, conversations=[conversation], **kwargs), conversation


@pytest.mark.django_db
def test_due_times_follow_split_business_hours(merchant, policy):
    # Monday 23 Nov 2026, 12:30 Madrid: 30 minutes before lunch.
    ticket, _ = _ticket_at(local(2026, 11, 23, 12, 30), merchant)
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == local(2026, 11, 23, 15, 30)  # 30 min before lunch + 30 after
    assert ticket.resolution_due_at == local(2026, 11, 24, 12, 30)  # 270 min Monday + 210 Tuesday
    assert ticket.next_response_due_at is None  # nothing owed before the first reply


@pytest.mark.django_db
def test_created_on_friday_evening_is_due_on_monday(merchant, policy):
    ticket, _ = _ticket_at(local(2026, 11, 27, 18, 30), merchant)
    assert ticket.first_response_due_at == local(2026, 11, 30, 9, 30)


@pytest.mark.django_db
def test_holiday_is_skipped(merchant, hours, policy):
    hours.holidays = ["2026-11-30"]
    hours.save()
    ticket, _ = _ticket_at(local(2026, 11, 27, 18, 30), merchant)
    assert ticket.first_response_due_at == local(2026, 12, 1, 9, 30)


@pytest.mark.django_db
def test_without_business_hours_the_clock_runs_round_the_clock(merchant):
    SlaPolicyFactory(merchant=merchant, first_response_minutes=90)
    ticket, _ = _ticket_at(local(2026, 11, 28, 23, 0), merchant)
    assert ticket.first_response_due_at == local(2026, 11, 29, 0, 30)


@pytest.mark.django_db
def test_pending_pauses_and_open_resumes_with_the_time_left(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 12, 30), merchant)
    with time_machine.travel(local(2026, 11, 23, 14, 0), tick=False):  # lunch: 30 business minutes used
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.PENDING)
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is None
    assert ticket.sla_remaining["first_response"]["seconds"] == 30 * 60
    assert [b["state"] for b in sla_badges(ticket=ticket)] == ["paused", "none", "paused"]
    with time_machine.travel(local(2026, 11, 24, 10, 0), tick=False):  # next morning
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    assert ticket.first_response_due_at == local(2026, 11, 24, 10, 30)
    assert ticket.resolution_due_at == local(2026, 11, 25, 9, 30)  # 450 left from Tue 10:00: 420 Tue + 30 Wed
    assert ticket.sla_paused_at is None and ticket.sla_remaining == {}


@pytest.mark.django_db
def test_pause_across_the_march_dst_change(merchant, policy, agent):
    # Friday 27 March 2026 18:30 CET; paused at 18:45 with 45 min left; resumed Monday 30 March 09:00 CEST.
    ticket, _ = _ticket_at(local(2026, 3, 27, 18, 30), merchant)
    assert ticket.first_response_due_at == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Monday 09:30 CEST
    with time_machine.travel(local(2026, 3, 27, 18, 45), tick=False):
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.ON_HOLD)
    with time_machine.travel(local(2026, 3, 30, 9, 0), tick=False):
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    assert ticket.first_response_due_at == datetime(2026, 3, 30, 7, 45, tzinfo=UTC)


@pytest.mark.django_db
def test_october_dst_weekend(merchant, policy):
    ticket, _ = _ticket_at(local(2026, 10, 23, 18, 30), merchant)
    assert ticket.first_response_due_at == datetime(2026, 10, 26, 8, 30, tzinfo=UTC)  # Monday 09:30 CET


@pytest.mark.django_db
def test_first_public_reply_meets_first_response(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 45), tick=False):
        ticket_comment_add(ticket=ticket, body="We are on it", public=True, actor=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at == local(2026, 11, 23, 10, 45)
    assert ticket.first_response_due_at is None and not ticket.first_response_breached
    assert ticket.status == TicketStatus.OPEN
    met = TicketEvent.objects.get(ticket=ticket, kind="sla_met", field="first_response")
    assert met.data["on_time"] is True
    assert {b["metric"]: b["state"] for b in sla_badges(ticket=ticket)}["first_response"] == "met"


@pytest.mark.django_db
def test_internal_comment_does_not_meet_first_response(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 5), tick=False):
        ticket_comment_add(ticket=ticket, body="note to self", public=False, actor=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.first_response_due_at == local(2026, 11, 23, 11, 0)


@pytest.mark.django_db
def test_late_reply_records_the_breach_once(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 11, 5), tick=False):
        ticket_comment_add(ticket=ticket, body="Sorry for the wait", public=True, actor=agent)
        sla_check()
    ticket.refresh_from_db()
    assert ticket.first_response_breached
    assert SlaEvent.objects.filter(ticket=ticket, metric="first_response", kind="breach").count() == 1


@pytest.mark.django_db
def test_customer_message_starts_next_response_and_reply_meets_it(merchant, policy, agent):
    ticket, conversation = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 10), tick=False):
        ticket_comment_add(ticket=ticket, body="Looking into it", public=True, actor=agent)
    conversation.last_inbound_at = local(2026, 11, 23, 12, 0)
    conversation.save(update_fields=["last_inbound_at"])
    with time_machine.travel(local(2026, 11, 23, 12, 1), tick=False):
        assert sla_check()["synced"] == 1
        assert sla_check()["synced"] == 0  # already accounted for
    ticket.refresh_from_db()
    assert ticket.awaiting_reply_since == local(2026, 11, 23, 12, 0)
    assert ticket.next_response_cycle == 1
    assert ticket.next_response_due_at == local(2026, 11, 23, 16, 0)  # 60 min before lunch, 60 after
    with time_machine.travel(local(2026, 11, 23, 15, 0), tick=False):
        ticket_comment_add(ticket=ticket, body="Refund issued", public=True, actor=agent)
    ticket.refresh_from_db()
    assert ticket.next_response_due_at is None and ticket.awaiting_reply_since is None
    assert not ticket.next_response_breached


@pytest.mark.django_db
def test_customer_reply_reopens_a_pending_ticket(merchant, policy, agent):
    ticket, conversation = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 10), tick=False):
        ticket_comment_add(ticket=ticket, body="Can you send a photo?", public=True, actor=agent)
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.PENDING)
    conversation.last_inbound_at = local(2026, 11, 23, 11, 0)
    conversation.save(update_fields=["last_inbound_at"])
    with time_machine.travel(local(2026, 11, 23, 11, 1), tick=False):
        sla_check()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.next_response_due_at == local(2026, 11, 23, 13, 0)  # 2 h from 11:00, just before lunch


@pytest.mark.django_db
def test_breach_task_is_idempotent(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    ticket_update(ticket=ticket, actor=None, assignee=agent)
    with time_machine.travel(local(2026, 11, 23, 10, 50), tick=False):  # 10 minutes before: inside the lead
        assert sla_check()["warnings"] == 1
        assert sla_check()["warnings"] == 0
    with time_machine.travel(local(2026, 11, 23, 11, 0), tick=False):
        assert sla_check()["breaches"] == 1
        assert sla_check() == {"warnings": 0, "breaches": 0, "synced": 0}
    events = SlaEvent.objects.filter(ticket=ticket)
    assert sorted(events.values_list("metric", "kind")) == [("first_response", "breach"), ("first_response", "warning")]
    assert TicketEvent.objects.filter(ticket=ticket, kind__in=["sla_warning", "sla_breach"]).count() == 2
    kinds = list(LiveEvent.objects.filter(merchant=merchant).values_list("kind", flat=True))
    assert kinds == ["ticket.sla_warning", "ticket.sla_breach"]
    ticket.refresh_from_db()
    assert ticket.first_response_breached
    assert {b["metric"]: b["state"] for b in sla_badges(ticket=ticket)}["first_response"] == "breached"


@pytest.mark.django_db
def test_breach_notifies_assignee_and_team_by_email(merchant, policy, agent, django_capture_on_commit_callbacks):
    team = TeamFactory(merchant=merchant)
    colleague = MembershipFactory(merchant=merchant).user
    team.members.add(colleague, through_defaults={"merchant": merchant})
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant, assignee=agent, team=team)
    with time_machine.travel(local(2026, 11, 23, 11, 1), tick=False), django_capture_on_commit_callbacks(execute=True):
        sla_check()
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([agent.email, colleague.email])
    assert f"#{ticket.number}" in mail.outbox[0].subject


@pytest.mark.django_db
def test_breach_escalates_priority_and_team(merchant, hours, agent):
    escalation = TeamFactory(merchant=merchant, name="Supervisors")
    SlaPolicyFactory(merchant=merchant, business_hours=hours, escalate_raise_priority=True, escalate_team=escalation)
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant, assignee=agent)
    with time_machine.travel(local(2026, 11, 23, 11, 0), tick=False):
        sla_check()
        sla_check()
    ticket.refresh_from_db()
    assert ticket.priority == TicketPriority.HIGH  # raised once, not once per run
    assert ticket.team == escalation and ticket.assignee is None


@pytest.mark.django_db
def test_paused_tickets_do_not_breach(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 30), tick=False):
        ticket_update(ticket=ticket, actor=agent, status=TicketStatus.ON_HOLD)
    with time_machine.travel(local(2026, 11, 25, 10, 0), tick=False):
        assert sla_check() == {"warnings": 0, "breaches": 0, "synced": 0}
    assert not SlaEvent.objects.exists()


@pytest.mark.django_db
def test_priority_change_retargets_keeping_time_used(merchant, hours, policy, agent):
    SlaPolicyFactory(merchant=merchant, business_hours=hours, priority=TicketPriority.URGENT, first_response_minutes=30)
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 20), tick=False):
        ticket = ticket_update(ticket=ticket, actor=agent, priority=TicketPriority.URGENT)
    assert ticket.sla_targets["first_response"] == 30 * 60
    assert ticket.first_response_due_at == local(2026, 11, 23, 10, 30)  # 20 used of 30


@pytest.mark.django_db
def test_tag_specific_policy_wins_over_generic(merchant, hours, policy):
    vip = SlaPolicyFactory(merchant=merchant, business_hours=hours, tag="vip", first_response_minutes=15)
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant, tags=["vip"])
    assert ticket.sla_policy == vip
    assert ticket.first_response_due_at == local(2026, 11, 23, 10, 15)


@pytest.mark.django_db
def test_channel_specific_policy(merchant, hours, policy):
    wa = SlaPolicyFactory(merchant=merchant, business_hours=hours, channel_kind="whatsapp", first_response_minutes=5)
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)  # the factory's channel is WhatsApp
    assert ticket.sla_policy == wa


@pytest.mark.django_db
def test_solving_meets_resolution_and_reopening_resumes_it(merchant, policy, agent):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 11, 0), tick=False):
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.SOLVED)
    assert ticket.solved_at == local(2026, 11, 23, 11, 0)
    assert ticket.resolution_due_at is None
    assert ticket.sla_remaining["resolution"]["seconds"] == 420 * 60
    assert TicketEvent.objects.get(ticket=ticket, kind="sla_met", field="resolution").data["on_time"]
    with time_machine.travel(local(2026, 11, 24, 9, 0), tick=False):
        ticket = ticket_update(ticket=ticket, actor=agent, status=TicketStatus.OPEN)
    assert ticket.solved_at is None
    assert ticket.resolution_due_at == local(2026, 11, 24, 19, 0) - timedelta(minutes=60)


@pytest.mark.django_db
def test_tickets_in_other_states_are_not_checked(merchant, policy):
    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.SOLVED)
    with time_machine.travel(local(2026, 11, 23, 12, 0), tick=False):
        assert sla_check()["breaches"] == 0
    assert SlaMetric.FIRST_RESPONSE  # enum import used for readability of the assertion above


@pytest.mark.django_db
def test_hours_without_periods_fall_back_to_round_the_clock(merchant):
    hours = BusinessHoursFactory(merchant=merchant, periods=[])
    SlaPolicyFactory(merchant=merchant, business_hours=hours, first_response_minutes=90)
    ticket, _ = _ticket_at(local(2026, 11, 28, 23, 0), merchant)
    assert ticket.first_response_due_at == local(2026, 11, 29, 0, 30)


@pytest.mark.django_db
def test_business_hours_need_a_period(merchant):
    from django.core.exceptions import ValidationError

    from apps.tickets.services import business_hours_save

    with pytest.raises(ValidationError, match="at least one"):
        business_hours_save(merchant=merchant, name="Empty", periods=[])


@pytest.mark.django_db
def test_summary_counts_recorded_events_and_csat(merchant, policy, agent):
    from apps.tickets.selectors import sla_summary
    from apps.tickets.services import csat_answer

    ticket, _ = _ticket_at(local(2026, 11, 23, 10, 0), merchant)
    with time_machine.travel(local(2026, 11, 23, 10, 50), tick=False):
        sla_check()
    with time_machine.travel(local(2026, 11, 23, 11, 0), tick=False):
        sla_check()
        csat_answer(ticket=ticket, rating=4)
    summary = sla_summary(merchant=merchant, since=local(2026, 11, 23))
    assert (summary["warnings"], summary["breaches"]) == (1, 1)
    assert summary["by_metric"] == {"first_response.warning": 1, "first_response.breach": 1}
    assert (summary["csat_answers"], summary["csat_average"]) == (1, 4.0)


@pytest.mark.django_db
def test_agent_reply_sent_from_the_inbox_meets_the_clocks(merchant, policy, agent):
    from tests.factories.conversations import MessageFactory

    ticket, conversation = _ticket_at(local(2026, 11, 23, 10, 0), merchant)

    def agent_message(at, **kwargs):
        MessageFactory(
            conversation=conversation,
            direction="outbound",
            author_kind="agent",
            author=agent,
            status="sent",
            created_at=at,
            **kwargs,
        )

    agent_message(local(2026, 11, 23, 10, 20), kind="note")  # internal note: not a reply
    agent_message(local(2026, 11, 23, 10, 25), automated=True)  # bot: not a reply
    with time_machine.travel(local(2026, 11, 23, 10, 26), tick=False):
        sla_check()
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    agent_message(local(2026, 11, 23, 10, 30))
    conversation.last_inbound_at = local(2026, 11, 23, 11, 0)
    conversation.save(update_fields=["last_inbound_at"])
    with time_machine.travel(local(2026, 11, 23, 11, 1), tick=False):
        assert sla_check()["synced"] == 2  # the inbox reply, then the customer's answer
        assert sla_check()["synced"] == 0
    ticket.refresh_from_db()
    assert ticket.first_response_at == local(2026, 11, 23, 10, 30)
    assert ticket.awaiting_reply_since == local(2026, 11, 23, 11, 0)
    agent_message(local(2026, 11, 23, 11, 30))
    with time_machine.travel(local(2026, 11, 23, 11, 31), tick=False):
        sla_check()
    ticket.refresh_from_db()
    assert ticket.awaiting_reply_since is None and ticket.next_response_due_at is None
    assert not ticket.first_response_breached and not ticket.next_response_breached
