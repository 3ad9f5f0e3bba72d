"""Writes for tickets: create, change, link, merge, auto-close. One timeline entry per change."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.core.roles import Capability
from apps.core.tenancy import ensure_same_merchant
from apps.merchants.models import Merchant
from apps.merchants.selectors import member_can
from apps.tickets.models import (
    Ticket,
    TicketConversation,
    TicketCounter,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)
from apps.tickets.services import sla
from apps.tickets.services.timeline import Actor, event_record

logger = logging.getLogger(__name__)

AUTOCLOSE_SETTING = "tickets_autoclose_days"
AUTOCLOSE_DEFAULT_DAYS = 4
MAX_TAGS = 20
TRANSCRIPT_MESSAGES = 200
EDITABLE = ("subject", "description", "status", "priority", "assignee", "team", "tags", "due_at", "contact")


class TicketRefused(Exception):
    """A well-formed request a ticket rule refuses; `code` names the rule (the API answers 422)."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(f"{code}: {message}")


# ------------------------------------------------------------------ validation helpers
def clean_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise ValidationError({"tags": "Give a list of strings."})
    cleaned = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if len(cleaned) > MAX_TAGS or any(len(t) > 50 for t in cleaned):
        raise ValidationError({"tags": f"At most {MAX_TAGS} tags of up to 50 characters each."})
    return cleaned


def check_assignee(merchant_id: int, user) -> None:
    """Only members whose role may work tickets can be assigned."""
    if user is None:
        return
    if not member_can(merchant=merchant_id, user=user, capability=Capability.TICKETS):
        raise ValidationError({"assignee": "This person is not an agent of this merchant."})


def _check_choice(field: str, value: str, choices) -> None:
    if value not in choices.values:
        raise ValidationError({field: f"Choose one of: {', '.join(choices.values)}."})


def _next_number(merchant_id: int) -> int:
    # One statement takes the counter row lock and returns the new value: numbers never repeat,
    # and concurrent creators just queue on the row for the rest of their transaction.
    table = connection.ops.quote_name(TicketCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (merchant_id, value) VALUES (%s, 1) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (merchant_id) DO UPDATE SET value = {table}.value + 1 RETURNING value",
            [merchant_id],
        )
        return int(cursor.fetchone()[0])


# ------------------------------------------------------------------ create
@transaction.atomic
def ticket_create(
    *,
    merchant: Merchant,
    subject: str,
    actor: Actor | Any | None = None,
    description: str = "",
    contact=None,
    conversations: list | tuple = (),
    status: str = TicketStatus.NEW,
    priority: str = TicketPriority.NORMAL,
    assignee=None,
    team=None,
    tags: list[str] | None = None,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> Ticket:
    now = now or timezone.now()
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": "Give the ticket a subject."})
    _check_choice("status", status, TicketStatus)
    _check_choice("priority", priority, TicketPriority)
    if status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
        raise ValidationError({"status": "A new ticket cannot start solved or closed."})
    ensure_same_merchant(merchant_id=merchant.pk, contact=contact, team=team)
    for conversation in conversations:
        ensure_same_merchant(merchant_id=merchant.pk, conversation=conversation)
    check_assignee(merchant.pk, assignee)
    actor = actor if isinstance(actor, Actor) else Actor(user=actor) if actor is not None else None
    ticket = Ticket(
        merchant=merchant,
        number=_next_number(merchant.pk),
        subject=subject[:200],
        description=description or "",
        contact=contact or (conversations[0].contact if conversations else None),
        status=status,
        priority=priority,
        assignee=assignee,
        team=team,
        tags=clean_tags(tags),
        due_at=due_at,
        created_by=actor.user if actor else None,
        created_at=now,
    )
    channel_kind = conversations[0].channel.kind if conversations else ""
    # Messages that came before the ticket existed are what it was opened for, not replies owed.
    inbound = [c.last_inbound_at for c in conversations if c.last_inbound_at]
    ticket.last_customer_message_at = max(inbound) if inbound else None
    sla.sla_apply(ticket=ticket, now=now, channel_kind=channel_kind)
    if status not in (TicketStatus.NEW, TicketStatus.OPEN):
        sla.sla_pause(ticket=ticket, now=now)
    ticket.save()
    for conversation in conversations:
        TicketConversation.objects.create(merchant=merchant, ticket=ticket, conversation=conversation, linked_at=now)
    event_record(
        ticket=ticket,
        actor=actor,
        kind=TicketEventKind.CREATED,
        new={"subject": ticket.subject, "status": status, "priority": priority},
        data={"conversations": [c.pk for c in conversations]},
        at=now,
    )
    return ticket


def transcript(conversation, limit: int = TRANSCRIPT_MESSAGES) -> str:
    """The conversation as plain text, oldest first (internal notes left out)."""
    from apps.conversations.models import MessageKind

    messages = list(
        conversation.messages.exclude(kind=MessageKind.NOTE).select_related("author").order_by("-id")[:limit]
    )
    lines = []
    for message in reversed(messages):
        who = _speaker(message, conversation)
        lines.append(f"[{message.created_at:%Y-%m-%d %H:%M} UTC] {who}: {message.body}")
    return "\n".join(lines)


def _speaker(message, conversation) -> str:
    if message.direction == "inbound":
        return str(conversation.contact) if conversation.contact_id else "Customer"
    if message.author_id:
        return message.author.full_name or message.author.email
    return "Automated" if message.automated else "Agent"


@transaction.atomic
def ticket_create_from_conversation(
    *,
    conversation,
    actor: Actor | Any | None = None,
    subject: str = "",
    priority: str = TicketPriority.NORMAL,
    assignee=None,
    team=None,
    tags: list[str] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """One click from the inbox: links the conversation and copies its transcript into the description."""
    contact = conversation.contact
    subject = subject.strip() or f"{conversation.channel.get_kind_display()} conversation with {contact}"
    return ticket_create(
        merchant=conversation.merchant,
        subject=subject,
        actor=actor,
        description=transcript(conversation),
        contact=contact,
        conversations=[conversation],
        status=TicketStatus.OPEN if assignee else TicketStatus.NEW,
        priority=priority,
        assignee=assignee,
        team=team,
        tags=tags,
        now=now,
    )


# ------------------------------------------------------------------ update
def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=ticket.pk)


def _validate_changes(ticket: Ticket, changes: dict) -> dict:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    if "subject" in changes:
        changes["subject"] = (changes["subject"] or "").strip()[:200]
        if not changes["subject"]:
            raise ValidationError({"subject": "Give the ticket a subject."})
    if "status" in changes:
        _check_choice("status", changes["status"], TicketStatus)
    if "priority" in changes:
        _check_choice("priority", changes["priority"], TicketPriority)
    if "tags" in changes:
        changes["tags"] = clean_tags(changes["tags"])
    ensure_same_merchant(merchant_id=ticket.merchant_id, team=changes.get("team"), contact=changes.get("contact"))
    if "assignee" in changes:
        check_assignee(ticket.merchant_id, changes["assignee"])
    if ticket.status == TicketStatus.CLOSED and changes:
        raise TicketRefused("ticket_closed", "Closed tickets cannot be changed; open a follow-up ticket instead.")
    return changes


def _labels(ticket: Ticket, field: str, new) -> dict:
    """Names of linked rows as they were, so the timeline reads well after renames and deletions."""
    if field not in ("assignee", "team", "contact"):
        return {}
    old = getattr(ticket, field)

    def name(obj) -> str:
        return "" if obj is None else getattr(obj, "email", None) or str(obj)

    return {"old_label": name(old), "new_label": name(new)}


def _value(ticket: Ticket, field: str):
    if field in ("assignee", "team", "contact"):
        return getattr(ticket, f"{field}_id")
    return getattr(ticket, field)


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: Actor | Any | None = None,
    now: datetime | None = None,
    event_data: dict | None = None,
    **changes,
) -> Ticket:
    """Change fields; each real change is one timeline entry. Status and priority move the SLA clocks."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    changes = _validate_changes(ticket, changes)
    old_status, changed = ticket.status, []
    for field, new in changes.items():
        old = _value(ticket, field)
        new_value = new.pk if hasattr(new, "pk") else new
        if old == new_value:
            continue
        data = {**(event_data or {}), **_labels(ticket, field, new)}
        setattr(ticket, field, new)
        changed.append(field)
        event_record(
            ticket=ticket,
            actor=actor,
            kind=TicketEventKind.CHANGED,
            field=field,
            old=old,
            new=new_value,
            data=data,
            at=now,
        )
    if not changed:
        return ticket
    if "priority" in changed or "tags" in changed:
        sla.sla_apply(ticket=ticket, now=now)
    if "status" in changed:
        _status_side_effects(ticket, old=old_status, now=now)
    ticket.save()
    return ticket


def _status_side_effects(ticket: Ticket, *, old: str, now: datetime) -> None:
    new = ticket.status
    sla.sla_status_changed(ticket=ticket, old=old, new=new, now=now)
    if new == TicketStatus.SOLVED:
        ticket.solved_at = now
        from apps.tickets.services import csat  # solving sends the survey; csat imports this module

        csat.csat_request(ticket=ticket, now=now)
    elif new == TicketStatus.CLOSED:
        ticket.closed_at = now
        ticket.solved_at = ticket.solved_at or now
    else:
        ticket.solved_at = None


# ------------------------------------------------------------------ links
@transaction.atomic
def ticket_link_conversation(*, ticket: Ticket, conversation, actor: Actor | Any | None = None) -> bool:
    """Link one more conversation; False when it was already linked."""
    ensure_same_merchant(merchant_id=ticket.merchant_id, conversation=conversation)
    ticket = _locked(ticket)
    _, created = TicketConversation.objects.get_or_create(
        ticket=ticket, conversation=conversation, defaults={"merchant_id": ticket.merchant_id}
    )
    if created:
        event_record(ticket=ticket, actor=actor, kind=TicketEventKind.LINKED, new=conversation.pk)
        if ticket.contact_id is None:
            ticket.contact_id = conversation.contact_id
        seen = [t for t in (ticket.last_customer_message_at, conversation.last_inbound_at) if t]
        ticket.last_customer_message_at = max(seen) if seen else None
        ticket.save(update_fields=["contact", "last_customer_message_at", "updated_at"])
    return created


# ------------------------------------------------------------------ merge
@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: Actor | Any | None = None, now=None) -> Ticket:
    """Close `source` into `target`: comments and conversation links move, tags are united, the source's
    own timeline stays with it (append-only) and both timelines reference each other."""
    now = now or timezone.now()
    ensure_same_merchant(merchant_id=source.merchant_id, target=target)
    if source.pk == target.pk:
        raise TicketRefused("merge_same_ticket", "A ticket cannot be merged into itself.")
    first, second = sorted([source, target], key=lambda t: t.pk)  # lock in id order: no deadlock
    locked = {t.pk: _locked(t) for t in (first, second)}
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or source.status == TicketStatus.CLOSED:
        raise TicketRefused("merge_source_closed", "This ticket is already closed or merged.")
    if target.status == TicketStatus.CLOSED:
        raise TicketRefused("merge_target_closed", "Tickets cannot be merged into a closed ticket.")
    source.comments.update(ticket=target)
    existing = set(target.links.values_list("conversation_id", flat=True))
    source.links.exclude(conversation_id__in=existing).update(ticket=target)
    target.tags = clean_tags([*target.tags, *source.tags])
    if target.contact_id is None:
        target.contact_id = source.contact_id
    target.save()
    old_status = source.status
    source.status, source.closed_at, source.merged_into = TicketStatus.CLOSED, now, target
    sla.sla_stop_all(ticket=source)
    source.save()
    event_record(
        ticket=source,
        actor=actor,
        kind=TicketEventKind.MERGED,
        field="status",
        old=old_status,
        new=TicketStatus.CLOSED,
        data={"into": target.pk, "into_number": target.number},
        at=now,
    )
    event_record(
        ticket=target,
        actor=actor,
        kind=TicketEventKind.MERGED_FROM,
        data={"from": source.pk, "from_number": source.number},
        at=now,
    )
    return target


# ------------------------------------------------------------------ auto-close
def autoclose_days(merchant: Merchant) -> int:
    value = merchant.setting(AUTOCLOSE_SETTING, AUTOCLOSE_DEFAULT_DAYS)
    return value if isinstance(value, int) and value >= 0 else AUTOCLOSE_DEFAULT_DAYS


def tickets_autoclose(*, now: datetime | None = None) -> int:
    """Close tickets solved more than N days ago (N per merchant). Set-based and safe to run twice."""
    now = now or timezone.now()
    merchant_ids = Ticket.objects.filter(status=TicketStatus.SOLVED).values_list("merchant_id", flat=True).distinct()
    closed = 0
    for merchant in Merchant.objects.filter(pk__in=list(merchant_ids)):
        closed += _autoclose_merchant(merchant, now - timedelta(days=autoclose_days(merchant)), now)
    return closed


@transaction.atomic
def _autoclose_merchant(merchant: Merchant, solved_before: datetime, now: datetime) -> int:
    due = Ticket.objects.for_merchant(merchant).filter(status=TicketStatus.SOLVED, solved_at__lte=solved_before)
    ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
    if not ids:
        return 0
    Ticket.objects.filter(pk__in=ids, status=TicketStatus.SOLVED).update(
        status=TicketStatus.CLOSED, closed_at=now, updated_at=now
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(
            merchant=merchant,
            ticket_id=pk,
            actor_label="Auto-close",
            kind=TicketEventKind.CHANGED,
            field="status",
            old_value=TicketStatus.SOLVED,
            new_value=TicketStatus.CLOSED,
            data={"reason": "autoclose", "days": autoclose_days(merchant)},
            created_at=now,
        )
        for pk in ids
    )
    return len(ids)
