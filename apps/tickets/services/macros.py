"""Macros: named sets of actions applied to a ticket in one click (one transaction)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.tenancy import ensure_same_merchant
from apps.tickets.models import Macro, Ticket
from apps.tickets.services.comments import ticket_comment_add
from apps.tickets.services.tickets import check_assignee, clean_tags, ticket_update
from apps.tickets.services.timeline import as_actor

VARIABLE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")
VARIABLES = {
    "contact": ("name", "email", "phone"),
    "ticket": ("number", "subject", "status", "priority"),
    "agent": ("name", "email"),
    "merchant": ("name",),
}


def macro_variables_check(text: str) -> None:
    unknown = sorted(
        {m.group(0) for m in VARIABLE.finditer(text or "") if m.group(2) not in VARIABLES.get(m.group(1), ())}
    )
    if unknown:
        allowed = ", ".join(f"{{{{{obj}.{attr}}}}}" for obj, attrs in VARIABLES.items() for attr in attrs)
        raise ValidationError({"reply_text": f"Unknown variable(s) {', '.join(unknown)}; use {allowed}."})


def macro_render(text: str, *, ticket: Ticket, agent=None) -> str:
    contact = ticket.contact
    values = {
        "contact": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
            "phone": contact.phone if contact else "",
        },
        "ticket": {
            "number": str(ticket.number),
            "subject": ticket.subject,
            "status": ticket.get_status_display(),
            "priority": ticket.get_priority_display(),
        },
        "agent": {"name": agent.full_name if agent else "", "email": agent.email if agent else ""},
        "merchant": {"name": ticket.merchant.name},
    }
    return VARIABLE.sub(lambda m: values.get(m.group(1), {}).get(m.group(2), m.group(0)), text)


def macro_validate(macro: Macro) -> None:
    macro_variables_check(macro.reply_text)
    macro.add_tags = clean_tags(macro.add_tags)
    macro.remove_tags = clean_tags(macro.remove_tags)
    if macro.set_assignee_id:
        check_assignee(macro.merchant_id, macro.set_assignee)
    macro.full_clean(validate_unique=False, validate_constraints=False)


def _changes(macro: Macro, ticket: Ticket) -> dict:
    changes: dict[str, Any] = {}
    if macro.set_status:
        changes["status"] = macro.set_status
    if macro.set_priority:
        changes["priority"] = macro.set_priority
    if macro.add_tags or macro.remove_tags:
        kept = [t for t in ticket.tags if t not in macro.remove_tags]
        changes["tags"] = kept + [t for t in macro.add_tags if t not in kept]
    if macro.set_team_id:
        changes["team"] = macro.set_team
    if macro.set_assignee_id:
        changes["assignee"] = macro.set_assignee
    return changes


@transaction.atomic
def macro_apply(*, ticket: Ticket, macro: Macro, actor=None) -> Ticket:
    """Reply first (so a refused reply changes nothing), then the field changes, each one timeline entry."""
    ensure_same_merchant(merchant_id=ticket.merchant_id, macro=macro)
    actor = as_actor(actor)
    data = {"macro": macro.name, "macro_id": macro.pk}
    if macro.reply_text.strip():
        body = macro_render(macro.reply_text, ticket=ticket, agent=actor.user)
        ticket_comment_add(ticket=ticket, body=body, public=macro.reply_public, actor=actor)
    ticket.refresh_from_db()
    changes = _changes(macro, ticket)
    # Status last: solving sends the CSAT survey, which should see the macro's other changes.
    status = changes.pop("status", None)
    if changes:
        ticket = ticket_update(ticket=ticket, actor=actor, event_data=data, **changes)
    if status:
        ticket = ticket_update(ticket=ticket, actor=actor, event_data=data, status=status)
    return ticket


def macro_save(*, merchant, macro: Macro) -> Macro:
    from django.db import IntegrityError

    macro.merchant = merchant
    macro_validate(macro)
    try:
        with transaction.atomic():
            macro.save()
    except IntegrityError:
        raise ValidationError({"name": "A macro with this name already exists."}) from None
    return macro


def macro_delete(*, macro: Macro) -> None:
    macro.delete()
