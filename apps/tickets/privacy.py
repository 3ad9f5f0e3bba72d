"""The tickets app's part of a contact's export, erasure and merge (registered with apps.contacts.privacy_hooks)."""

from __future__ import annotations

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.contacts.redaction import ERASED, Traces
from apps.conversations.models import LiveEvent
from apps.tickets.models import Ticket, TicketComment, TicketEvent, TicketEventKind


def tickets_export(contact) -> list[dict]:
    tickets = Ticket.objects.for_merchant(contact.merchant_id).filter(contact=contact).order_by("id")
    return [
        {
            "number": t.number,
            "subject": t.subject,
            "description": t.description,
            "status": t.status,
            "created_at": t.created_at.isoformat(),
            "csat": {"rating": t.csat_rating, "comment": t.csat_comment} if t.csat_answered_at else None,
            "public_replies": list(t.comments.filter(is_public=True).order_by("id").values_list("body", flat=True)),
        }
        for t in tickets
    ]


# What the customer wrote or was told, wherever the timeline copied it: blanked whole, not scrubbed.
FREE_TEXT = ("subject", "description", "comment")


@transaction.atomic
def tickets_erase(*, contact, traces: Traces) -> None:
    """Blank what the customer wrote or was told, in their tickets and timelines; keep numbers, statuses,
    ratings and SLA facts for reports. Another customer's ticket linked to one of their conversations
    is that customer's: only the erased person's identifiers and name are scrubbed from it."""
    tickets = Ticket.objects.for_merchant(contact.merchant_id)
    ids = list(tickets.filter(contact=contact).values_list("pk", flat=True))
    linked = list(
        tickets.filter(conversations__contact=contact).exclude(pk__in=ids).values_list("pk", flat=True).distinct()
    )
    for ticket in Ticket.objects.filter(pk__in=ids + linked):  # few per contact: scrubbed one by one
        ticket.tags = [tag for tag in ticket.tags if not traces.mentions(str(tag))]
        ticket.subject, ticket.description = traces.scrub(ticket.subject), traces.scrub(ticket.description)
        ticket.csat_note = traces.scrub(ticket.csat_note)
        ticket.save(update_fields=["tags", "subject", "description", "csat_note"])
    for comment in TicketComment.objects.filter(ticket_id__in=linked):
        TicketComment.objects.filter(pk=comment.pk).update(body=traces.scrub(comment.body))
    Ticket.objects.filter(pk__in=ids).update(
        description=ERASED, csat_comment="", subject=ERASED, updated_at=timezone.now()
    )
    TicketComment.objects.filter(ticket_id__in=ids).update(body=ERASED)
    _timeline_redact(ids, traces, whole=True)
    _timeline_redact(linked, traces, whole=False)
    LiveEvent.objects.for_merchant(contact.merchant_id).filter(payload__ticket_id__in=ids + linked).delete()
    TicketEvent.objects.bulk_create(
        TicketEvent(
            merchant_id=contact.merchant_id,
            ticket_id=pk,
            kind=TicketEventKind.CHANGED,
            field="erased",
            actor_label="Privacy erasure",
            data={"contact": contact.pk},
        )
        for pk in ids + linked
    )


def _timeline_redact(ticket_ids: list[int], traces: Traces, *, whole: bool) -> None:
    """The timeline is append-only (TicketEvent.save refuses updates); erasure is its one exception, so
    it writes with a queryset update: what happened and when stays, the person's words do not.
    `whole`: free texts are blanked entirely (the person's own tickets), else only scrubbed."""
    for event in TicketEvent.objects.filter(ticket_id__in=ticket_ids):
        blank = whole and event.field in FREE_TEXT
        TicketEvent.objects.filter(pk=event.pk).update(
            old_value=ERASED if blank and event.old_value else _redact_value(event.old_value, traces, whole),
            new_value=ERASED if blank and event.new_value else _redact_value(event.new_value, traces, whole),
            data=_redact_value(event.data, traces, whole),
            actor_label=traces.scrub(event.actor_label),
        )


def _redact_value(value, traces: Traces, whole: bool):
    if isinstance(value, dict):
        blank = {k for k, v in value.items() if whole and k in FREE_TEXT and v}
        return {k: ERASED if k in blank else _redact_value(v, traces, whole) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(item, traces, whole) for item in value]
    return traces.scrub_json(value)


def tickets_merge(*, source, target) -> None:
    Ticket.objects.for_merchant(source.merchant_id).filter(contact=source).update(contact=target)


def tickets_panel(*, contact, request) -> str:
    tickets = Ticket.objects.for_merchant(contact.merchant_id).filter(contact=contact).order_by("-id")[:20]
    return render_to_string("tickets/_contact_panel.html", {"tickets": tickets}, request=request)


def conversation_panel(*, conversation, request) -> str:
    """The inbox sidebar: tickets linked to this conversation and a one-click "Create ticket"."""
    linked = Ticket.objects.for_merchant(conversation.merchant_id).filter(conversations=conversation).order_by("-id")
    return render_to_string(
        "tickets/_inbox_panel.html", {"conversation": conversation, "linked": linked[:10]}, request=request
    )


def register() -> None:
    from apps.contacts import privacy_hooks
    from apps.conversations.panels import InboxPanel, register_inbox_panel
    from apps.core.roles import Capability

    privacy_hooks.register_export_section("tickets", tickets_export)
    privacy_hooks.register_erase_hook(tickets_erase)
    privacy_hooks.register_merge_hook(tickets_merge)
    privacy_hooks.register_contact_panel(
        "tickets",
        privacy_hooks.ContactPanel(title="Tickets", render=tickets_panel, capability=Capability.TICKETS, order=50),
    )
    register_inbox_panel(
        "conversation-tickets",
        InboxPanel(title="Tickets for this conversation", render=conversation_panel, capability=Capability.TICKETS),
    )
