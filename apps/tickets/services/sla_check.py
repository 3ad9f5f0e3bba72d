"""The SLA beat task (every minute): sync what happened on linked conversations, then warn and breach."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.conversations.models import AuthorKind, Message, MessageDirection, MessageKind
from apps.tickets.models import (
    ACTIVE_STATUSES,
    UNSOLVED_STATUSES,
    SlaEvent,
    SlaEventKind,
    SlaMetric,
    SlaPolicy,
    Ticket,
    TicketConversation,
    TicketEventKind,
    TicketStatus,
)
from apps.tickets.services.sla import DUE_FIELD, SLA_FIELDS, sla_agent_replied, sla_customer_wrote, sla_resume
from apps.tickets.services.sla_events import sla_breach, sla_escalate, sla_warn
from apps.tickets.services.timeline import SYSTEM, event_record

logger = logging.getLogger(__name__)


def _locked(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("merchant", "sla_policy", "sla_policy__business_hours", "assignee", "team")
        .filter(pk=ticket_id)
        .first()
    )


def _check_ticket(ticket_id: int, now: datetime) -> tuple[int, int]:
    warnings = breaches = 0
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket is None or ticket.status not in ACTIVE_STATUSES:
            return 0, 0
        changed = set()
        for metric, field in DUE_FIELD.items():
            due = getattr(ticket, field)
            if due is None:
                continue
            if due <= now:
                if sla_breach(ticket, metric, due, now):
                    breaches += 1
                    changed.update(["first_response_breached", "next_response_breached", "resolution_breached"])
                    changed.update(sla_escalate(ticket, now))
            elif ticket.sla_policy and due - now <= timedelta(minutes=ticket.sla_policy.warn_before_minutes):
                warnings += int(sla_warn(ticket, metric, due, now))
        if changed:
            ticket.save(update_fields=[*changed, "updated_at"])
    return warnings, breaches


def _agent_messages(ticket_ref, since_ref):
    """Public agent messages on the ticket's linked conversations after `since` (sent from the inbox too)."""
    return Message.objects.filter(
        conversation_id__in=TicketConversation.objects.filter(ticket_id=ticket_ref).values("conversation_id"),
        direction=MessageDirection.OUTBOUND,
        author_kind=AuthorKind.AGENT,
        automated=False,
        created_at__gt=since_ref,
    ).exclude(kind=MessageKind.NOTE)


def _agent_scan(now: datetime) -> int:
    """Replies an agent sent straight from the inbox meet the ticket's first/next response too."""
    owed = Q(first_response_at__isnull=True) | Q(awaiting_reply_since__isnull=False)
    since = Coalesce(OuterRef("awaiting_reply_since"), OuterRef("created_at"))
    ticket_ids = list(
        Ticket.objects.filter(owed, status__in=UNSOLVED_STATUSES)
        .filter(Exists(_agent_messages(OuterRef(OuterRef("pk")), since)))
        .values_list("pk", flat=True)
        .order_by("pk")[:1000]
    )
    return sum(ticket_agent_sync(ticket_id=pk) for pk in ticket_ids)


def ticket_agent_sync(*, ticket_id: int) -> bool:
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket is None or (ticket.first_response_at is not None and ticket.awaiting_reply_since is None):
            return False
        since = ticket.awaiting_reply_since or ticket.created_at
        first = _agent_messages(ticket.pk, since).order_by("created_at", "id").first()
        if first is None:
            return False
        sla_agent_replied(ticket=ticket, at=first.created_at)
        ticket.save(update_fields=[*SLA_FIELDS, "updated_at"])
    return True


def _customer_scan(now: datetime) -> int:
    """Sync tickets whose linked conversations got a customer message we have not accounted for yet."""
    newest = (
        TicketConversation.objects.filter(ticket=OuterRef("pk"))
        .order_by()
        .values("ticket")
        .annotate(newest=Max("conversation__last_inbound_at"))
        .values("newest")
    )
    ticket_ids = list(
        Ticket.objects.filter(status__in=UNSOLVED_STATUSES)
        .annotate(newest_inbound=Subquery(newest))
        .filter(newest_inbound__isnull=False)
        .filter(Q(last_customer_message_at__isnull=True) | Q(newest_inbound__gt=F("last_customer_message_at")))
        .values_list("pk", flat=True)
        .order_by("pk")[:1000]
    )
    for ticket_id in ticket_ids:
        ticket_customer_sync(ticket_id=ticket_id, now=now)
    return len(ticket_ids)


def ticket_customer_sync(*, ticket_id: int, now: datetime) -> bool:
    """Bring one ticket up to date with its conversations' newest customer message.

    A customer message on a pending ticket reopens it (the customer answered what we waited for);
    on hold stays on hold (we wait for a third party, not the customer).
    """
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket is None:
            return False
        newest = TicketConversation.objects.filter(ticket=ticket).aggregate(
            newest=Max("conversation__last_inbound_at")
        )["newest"]
        if newest is None or (ticket.last_customer_message_at and newest <= ticket.last_customer_message_at):
            return False
        if ticket.status == TicketStatus.PENDING and (ticket.sla_paused_at is None or newest > ticket.sla_paused_at):
            event_record(
                ticket=ticket,
                actor=SYSTEM,
                kind=TicketEventKind.CHANGED,
                field="status",
                old=ticket.status,
                new=TicketStatus.OPEN,
                data={"reason": "customer_replied"},
                at=now,
            )
            ticket.status = TicketStatus.OPEN
            sla_resume(ticket=ticket, now=now)
        sla_customer_wrote(ticket=ticket, at=newest, now=now)
        ticket.save(update_fields=[*SLA_FIELDS, "status", "updated_at"])
    return True


def ticket_customer_replied(*, conversation, at: datetime | None = None) -> int:
    """Account for a customer message on `conversation` in every open ticket linked to it, now.

    Conversations sits below tickets and cannot call this; the beat task does the same for all tickets
    every minute. It is here for callers above both (and for a future inbound-message hook).
    """
    ticket_ids = TicketConversation.objects.filter(
        conversation=conversation, ticket__status__in=UNSOLVED_STATUSES
    ).values_list("ticket_id", flat=True)
    return sum(ticket_customer_sync(ticket_id=pk, now=at or timezone.now()) for pk in list(ticket_ids))


def _max_lead() -> timedelta:
    minutes = SlaPolicy.objects.filter(is_active=True).aggregate(m=Max("warn_before_minutes"))["m"] or 0
    return timedelta(minutes=minutes)


def sla_check(*, now: datetime | None = None) -> dict[str, int]:
    """One beat tick: account for inbox replies and customer messages, then warn and breach.

    Safe to run twice or concurrently: tickets are locked one at a time (SKIP LOCKED), events recorded once.
    """
    now = now or timezone.now()
    synced = _agent_scan(now) + _customer_scan(now)
    horizon = now + _max_lead()
    due_soon = Q()
    for field in DUE_FIELD.values():
        due_soon |= Q(**{f"{field}__lte": horizon})
    candidates = Ticket.objects.filter(status__in=ACTIVE_STATUSES).filter(due_soon)
    candidates = candidates.exclude(_all_recorded_q(now))
    warnings = breaches = 0
    for ticket_id in candidates.values_list("pk", flat=True).order_by("pk")[:5000]:
        w, b = _check_ticket(ticket_id, now)
        warnings, breaches = warnings + w, breaches + b
    if warnings or breaches:
        logger.info("tickets.sla_check", extra={"warnings": warnings, "breaches": breaches, "synced": synced})
    return {"warnings": warnings, "breaches": breaches, "synced": synced}


def _all_recorded_q(now: datetime) -> Q:
    """Tickets whose every due clock already has its breach recorded need no work (keeps the tick cheap)."""
    conditions = Q()
    for metric, field in DUE_FIELD.items():
        cycle = OuterRef("next_response_cycle") if metric == SlaMetric.NEXT_RESPONSE else 0
        recorded = Exists(
            SlaEvent.objects.filter(ticket=OuterRef("pk"), metric=metric, cycle=cycle, kind=SlaEventKind.BREACH)
        )
        conditions &= Q(**{f"{field}__isnull": True}) | (Q(**{f"{field}__lte": now}) & Q(recorded))
    return conditions
