"""SLA clocks on tickets.

Each metric (first response, next response, resolution) with a target in the ticket's policy is a
clock that counts business time. While it runs, its due instant is stored on the ticket
(`<metric>_due_at`, indexed, so queues and the beat task filter in SQL). When the ticket leaves
`new`/`open` (pending, on hold, solved, closed) every running clock is paused: its remaining
business seconds are kept in `sla_remaining` and the due field is cleared; on return the due time is
recomputed from that moment, so paused time never counts.

- first response: starts at creation, met by the first public agent reply;
- next response: starts at each customer message that arrives after the agent's last public reply
  (once the first response is met), met by the next public agent reply; each start is a new cycle;
- resolution: starts at creation, met when the ticket is solved (reopening resumes what was left).

Functions here change the ticket in memory and record timeline/SLA events; callers save the ticket.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.tickets import clock
from apps.tickets.models import (
    ACTIVE_STATUSES,
    BusinessHours,
    SlaMetric,
    SlaPolicy,
    Ticket,
    TicketConversation,
    TicketEventKind,
    TicketStatus,
)
from apps.tickets.services.sla_events import BREACH_FLAG, sla_breach
from apps.tickets.services.timeline import SYSTEM, event_record

DUE_FIELD = {
    SlaMetric.FIRST_RESPONSE: "first_response_due_at",
    SlaMetric.NEXT_RESPONSE: "next_response_due_at",
    SlaMetric.RESOLUTION: "resolution_due_at",
}
SLA_FIELDS = [
    "sla_policy",
    "sla_targets",
    *DUE_FIELD.values(),
    *BREACH_FLAG.values(),
    "sla_paused_at",
    "sla_remaining",
    "first_response_at",
    "last_agent_reply_at",
    "last_customer_message_at",
    "awaiting_reply_since",
    "next_response_cycle",
]


# ------------------------------------------------------------------ policy and schedule
def policy_for(*, ticket: Ticket, channel_kind: str | None = None) -> SlaPolicy | None:
    """The most specific active policy for the ticket's priority: tag and channel matches beat "any"."""
    if channel_kind is None:
        channel_kind = ticket_channel_kind(ticket)
    candidates = (
        SlaPolicy.objects.for_merchant(ticket.merchant_id)
        .filter(is_active=True, priority=ticket.priority)
        .select_related("business_hours")
    )
    best, best_score = None, -1
    for policy in candidates:
        if policy.tag and policy.tag not in (ticket.tags or []):
            continue
        if policy.channel_kind and policy.channel_kind != channel_kind:
            continue
        score = (2 if policy.tag else 0) + (1 if policy.channel_kind else 0)
        if score > best_score:  # candidates come ordered by position: the first of a score wins
            best, best_score = policy, score
    return best


def ticket_channel_kind(ticket: Ticket) -> str:
    if ticket.pk is None:
        return ""
    link = TicketConversation.objects.filter(ticket=ticket).select_related("conversation__channel").first()
    return link.conversation.channel.kind if link else ""


def schedule_for(*, ticket: Ticket) -> clock.Schedule:
    policy = ticket.sla_policy
    hours = policy.business_hours if policy is not None and policy.business_hours_id else None
    return _schedule_of(hours, merchant=ticket.merchant)


def merchant_schedule(*, merchant) -> clock.Schedule:
    """The merchant's default business hours as a schedule (reports measure business time on them)."""
    return _schedule_of(None, merchant=merchant)


def _schedule_of(hours: BusinessHours | None, *, merchant) -> clock.Schedule:
    if hours is None:
        hours = BusinessHours.objects.for_merchant(merchant.pk).filter(is_default=True).first()
    schedule = hours.schedule() if hours is not None else None
    if schedule is None or not schedule.has_working_time:  # no hours (or none left): round the clock
        return clock.Schedule.always(merchant.timezone)
    return schedule


# ------------------------------------------------------------------ clock primitives
def _remaining_now(ticket: Ticket, schedule: clock.Schedule, metric: str, now: datetime) -> int | None:
    """Business seconds left on a tracked clock (negative when overdue), or None when not tracked."""
    if metric in ticket.sla_remaining:
        return int(ticket.sla_remaining[metric]["seconds"])
    due = getattr(ticket, DUE_FIELD[metric])
    return None if due is None else clock.business_seconds_between(schedule, now, due)


def _set_clock(ticket: Ticket, schedule: clock.Schedule, metric: str, seconds: int, now: datetime, due=None) -> None:
    """Put a clock with `seconds` left as of `now` on the ticket, running or paused as the ticket is."""
    if due is None:
        due = clock.add_business_seconds(schedule, now, seconds) if seconds > 0 else now
    if ticket.is_paused:
        ticket.sla_remaining = {**ticket.sla_remaining, metric: {"seconds": seconds, "due": due.isoformat()}}
        setattr(ticket, DUE_FIELD[metric], None)
    else:
        setattr(ticket, DUE_FIELD[metric], due)


def _stop_clock(ticket: Ticket, metric: str) -> None:
    setattr(ticket, DUE_FIELD[metric], None)
    if metric in ticket.sla_remaining:
        ticket.sla_remaining = {k: v for k, v in ticket.sla_remaining.items() if k != metric}


def _start_clock(ticket: Ticket, schedule: clock.Schedule, metric: str, since: datetime, now: datetime) -> None:
    target = ticket.sla_targets.get(metric)
    if not target:
        return
    due = clock.add_business_seconds(schedule, since, target)
    _set_clock(ticket, schedule, metric, clock.business_seconds_between(schedule, now, due), now, due=due)


def _due_of(ticket: Ticket, metric: str) -> datetime | None:
    if metric in ticket.sla_remaining:
        return parse_datetime(ticket.sla_remaining[metric]["due"])
    return getattr(ticket, DUE_FIELD[metric])


def _owed(ticket: Ticket, metric: str) -> datetime | None:
    """When an untracked metric's clock would have started, or None when nothing is owed."""
    if metric == SlaMetric.FIRST_RESPONSE:
        return ticket.created_at if ticket.first_response_at is None else None
    if metric == SlaMetric.NEXT_RESPONSE:
        return ticket.awaiting_reply_since
    return ticket.created_at if ticket.solved_at is None else None


# ------------------------------------------------------------------ lifecycle
def sla_apply(*, ticket: Ticket, now: datetime, channel_kind: str | None = None) -> None:
    """Choose the policy for the ticket as it is now and (re)target its clocks, keeping time already used.

    A clock that has used u of its old target T gets the new target T' with T' - u left; a metric new in
    the policy starts from when it became owed.
    """
    policy = policy_for(ticket=ticket, channel_kind=channel_kind)
    old_schedule = schedule_for(ticket=ticket) if ticket.sla_policy_id else None
    old_targets = dict(ticket.sla_targets or {})
    ticket.sla_policy = policy
    ticket.sla_targets = policy.target_seconds() if policy else {}
    schedule = schedule_for(ticket=ticket)
    for metric in SlaMetric.values:
        new_target = ticket.sla_targets.get(metric)
        left = _remaining_now(ticket, old_schedule, metric, now) if old_schedule else None
        if new_target is None:
            _stop_clock(ticket, metric)
        elif left is not None and metric in old_targets:
            _set_clock(ticket, schedule, metric, new_target - (old_targets[metric] - left), now)
        elif (since := _owed(ticket, metric)) is not None:
            _start_clock(ticket, schedule, metric, since, now)


def sla_pause(*, ticket: Ticket, now: datetime) -> None:
    if ticket.is_paused:
        return
    schedule = schedule_for(ticket=ticket)
    remaining = {}
    for metric, field in DUE_FIELD.items():
        due = getattr(ticket, field)
        if due is not None:
            remaining[metric] = {"seconds": clock.business_seconds_between(schedule, now, due), "due": due.isoformat()}
            setattr(ticket, field, None)
    ticket.sla_remaining = remaining
    ticket.sla_paused_at = now


def sla_resume(*, ticket: Ticket, now: datetime) -> None:
    if not ticket.is_paused:
        return
    schedule = schedule_for(ticket=ticket)
    for metric, state in ticket.sla_remaining.items():
        seconds = int(state["seconds"])
        due = clock.add_business_seconds(schedule, now, seconds) if seconds > 0 else parse_datetime(state["due"])
        setattr(ticket, DUE_FIELD[metric], due)
    ticket.sla_remaining = {}
    ticket.sla_paused_at = None


def sla_status_changed(*, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Pause/resume clocks on a status change; solving meets resolution and clears an owed reply."""
    if new == TicketStatus.SOLVED:
        _met(ticket, SlaMetric.RESOLUTION, now)
        if ticket.awaiting_reply_since is not None:
            ticket.awaiting_reply_since = None
            _stop_clock(ticket, SlaMetric.NEXT_RESPONSE)
    if new in ACTIVE_STATUSES:
        sla_resume(ticket=ticket, now=now)
    else:
        sla_pause(ticket=ticket, now=now)


def _met(ticket: Ticket, metric: str, at: datetime) -> None:
    """Record a met metric on the timeline; a late one is a breach (recorded once, even if the task missed it)."""
    due = _due_of(ticket, metric)
    if due is None:
        return
    paused = ticket.sla_remaining.get(metric)
    late = int(paused["seconds"]) <= 0 if paused else at > due  # paused time never makes a reply late
    if late:
        sla_breach(ticket, metric, due, at)
    event_record(
        ticket=ticket,
        actor=SYSTEM,
        kind=TicketEventKind.SLA_MET,
        field=metric,
        new=due,
        data={"on_time": not late, "due_at": due.isoformat(), "met_at": at.isoformat()},
        at=at,
    )
    if metric != SlaMetric.RESOLUTION:  # resolution stays tracked: reopening resumes what was left
        _stop_clock(ticket, metric)


def sla_agent_replied(*, ticket: Ticket, at: datetime) -> None:
    """A public agent reply meets the first response, or the next response that is owed."""
    if ticket.first_response_at is None:
        ticket.first_response_at = at
        _met(ticket, SlaMetric.FIRST_RESPONSE, at)
    if ticket.awaiting_reply_since is not None:
        _met(ticket, SlaMetric.NEXT_RESPONSE, at)
        ticket.awaiting_reply_since = None
    ticket.last_agent_reply_at = at


def sla_customer_wrote(*, ticket: Ticket, at: datetime, now: datetime) -> None:
    """A customer message on a linked conversation: starts the next-response clock when a reply is owed."""
    ticket.last_customer_message_at = max(filter(None, [ticket.last_customer_message_at, at]))
    if ticket.first_response_at is None or ticket.awaiting_reply_since is not None:
        return  # the first-response clock (or the running next-response one) already covers it
    if ticket.last_agent_reply_at is not None and at <= ticket.last_agent_reply_at:
        return
    if ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        return
    ticket.next_response_cycle += 1
    ticket.awaiting_reply_since = at
    _start_clock(ticket, schedule_for(ticket=ticket), SlaMetric.NEXT_RESPONSE, at, now)


def sla_stop_all(*, ticket: Ticket) -> None:
    for metric in SlaMetric.values:
        _stop_clock(ticket, metric)
    ticket.sla_remaining = {}


# ------------------------------------------------------------------ display
def sla_badges(*, ticket: Ticket, now: datetime | None = None) -> list[dict]:
    """[{metric, label, state: met|breached|due|paused|none, due_at, seconds_left}] for templates and the API."""
    now = now or timezone.now()
    badges = []
    for metric in SlaMetric:
        if metric.value not in (ticket.sla_targets or {}):
            continue
        badges.append(_badge(ticket, metric, now))
    return badges


def _badge(ticket: Ticket, metric: SlaMetric, now: datetime) -> dict:
    due = getattr(ticket, DUE_FIELD[metric])
    breached = getattr(ticket, BREACH_FLAG[metric])
    badge = {"metric": metric.value, "label": metric.label, "due_at": due, "seconds_left": None}
    if due is not None:
        badge["seconds_left"] = int((due - now).total_seconds())
        badge["state"] = "breached" if due <= now else "due"
    elif metric.value in (ticket.sla_remaining or {}):
        badge["state"] = "paused"
        badge["seconds_left"] = int(ticket.sla_remaining[metric.value]["seconds"])
    elif breached:
        badge["state"] = "breached"
    elif _was_met(ticket, metric):
        badge["state"] = "met"
    else:
        badge["state"] = "none"
    return badge


def _was_met(ticket: Ticket, metric: SlaMetric) -> bool:
    if metric == SlaMetric.FIRST_RESPONSE:
        return ticket.first_response_at is not None
    if metric == SlaMetric.RESOLUTION:
        return ticket.solved_at is not None
    return ticket.next_response_cycle > 0 and ticket.awaiting_reply_since is None
