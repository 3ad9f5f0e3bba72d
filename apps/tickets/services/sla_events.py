"""Warnings and breaches: recorded once each, then announced (timeline, live event, e-mail) and escalated."""

from __future__ import annotations

from datetime import datetime

from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from apps.tickets.models import (
    PRIORITY_ORDER,
    SlaEvent,
    SlaEventKind,
    SlaMetric,
    Ticket,
    TicketEventKind,
)
from apps.tickets.services.timeline import SYSTEM, Actor, event_record

BREACH_FLAG = {
    SlaMetric.FIRST_RESPONSE: "first_response_breached",
    SlaMetric.NEXT_RESPONSE: "next_response_breached",
    SlaMetric.RESOLUTION: "resolution_breached",
}
ESCALATION = Actor(label="SLA escalation")


def _cycle(ticket: Ticket, metric: str) -> int:
    return ticket.next_response_cycle if metric == SlaMetric.NEXT_RESPONSE else 0


def _record(ticket: Ticket, metric: str, kind: str, due: datetime, at: datetime) -> bool:
    """Insert the (ticket, metric, cycle, kind) row once; True only for the call that inserted it."""
    try:
        with transaction.atomic():
            _, created = SlaEvent.objects.get_or_create(
                ticket=ticket,
                metric=metric,
                cycle=_cycle(ticket, metric),
                kind=kind,
                defaults={"merchant_id": ticket.merchant_id, "due_at": due, "occurred_at": at},
            )
    except IntegrityError:  # a concurrent run inserted it between our SELECT and INSERT
        return False
    return created


def sla_breach(ticket: Ticket, metric: str, due: datetime, at: datetime) -> bool:
    setattr(ticket, BREACH_FLAG[metric], True)
    if not _record(ticket, metric, SlaEventKind.BREACH, due, at):
        return False
    event_record(
        ticket=ticket,
        actor=SYSTEM,
        kind=TicketEventKind.SLA_BREACH,
        field=metric,
        new=due,
        data={"due_at": due.isoformat()},
        at=at,
    )
    _notify(ticket, metric, "ticket.sla_breach", due)
    return True


def sla_warn(ticket: Ticket, metric: str, due: datetime, at: datetime) -> bool:
    if not _record(ticket, metric, SlaEventKind.WARNING, due, at):
        return False
    event_record(
        ticket=ticket,
        actor=SYSTEM,
        kind=TicketEventKind.SLA_WARNING,
        field=metric,
        new=due,
        data={"due_at": due.isoformat()},
        at=at,
    )
    _notify(ticket, metric, "ticket.sla_warning", due)
    return True


def _recipients(ticket: Ticket) -> list[str]:
    emails = set()
    if ticket.assignee_id and ticket.assignee.email:
        emails.add(ticket.assignee.email)
    if ticket.team_id:
        emails.update(e for e in ticket.team.members.values_list("email", flat=True) if e)
    return sorted(emails)


def _notify(ticket: Ticket, metric: str, kind: str, due: datetime) -> None:
    """Live event for the portal (assignee and team filter on the payload) and an e-mail after commit."""
    from apps.conversations import events  # the live event log lives one layer below

    payload = {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "subject": ticket.subject,
        "metric": metric,
        "due_at": due.isoformat(),
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "priority": ticket.priority,
    }
    events.publish(merchant_id=ticket.merchant_id, kind=kind, payload=payload)
    recipients = _recipients(ticket)
    if recipients:
        what = "breached" if kind.endswith("breach") else "is about to breach"
        metric_label = SlaMetric(metric).label.lower()
        subject = f"Ticket #{ticket.number}: {metric_label} SLA {what}"
        body = f"{subject}.\nDue at {due.isoformat()} (UTC).\nSubject: {ticket.subject}\n"
        transaction.on_commit(lambda: send_mail(subject, body, None, recipients, fail_silently=True))


def sla_escalate(ticket: Ticket, at: datetime) -> list[str]:
    """Escalation keeps the current clocks (re-targeting on a raised priority would breach again at once)."""
    policy, changed = ticket.sla_policy, []
    if policy is None:
        return changed
    if policy.escalate_raise_priority and ticket.priority != PRIORITY_ORDER[-1]:
        old = ticket.priority
        ticket.priority = PRIORITY_ORDER[PRIORITY_ORDER.index(old) + 1]
        event_record(
            ticket=ticket,
            actor=ESCALATION,
            kind=TicketEventKind.CHANGED,
            field="priority",
            old=old,
            new=ticket.priority,
            at=at,
        )
        changed.append("priority")
    if policy.escalate_team_id and (ticket.team_id != policy.escalate_team_id or ticket.assignee_id):
        event_record(
            ticket=ticket,
            actor=ESCALATION,
            kind=TicketEventKind.CHANGED,
            field="team",
            old=ticket.team_id,
            new=policy.escalate_team_id,
            data={"unassigned": ticket.assignee_id},
            at=at,
        )
        ticket.team_id, ticket.assignee = policy.escalate_team_id, None
        changed += ["team", "assignee"]
    return changed
