"""Appending to a ticket's timeline: the only writer of TicketEvent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from apps.tickets.models import Ticket, TicketEvent


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, or a label for API keys, macros and the system."""

    user: Any = None
    label: str = ""

    @property
    def display(self) -> str:
        if self.user is not None:
            return self.user.email
        return self.label or "System"


SYSTEM = Actor(label="System")


def as_actor(actor: Actor | Any | None) -> Actor:
    if actor is None:
        return SYSTEM
    return actor if isinstance(actor, Actor) else Actor(user=actor)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def event_record(
    *,
    ticket: Ticket,
    actor: Actor | None,
    kind: str,
    field: str = "",
    old: Any = None,
    new: Any = None,
    data: dict | None = None,
    at=None,
) -> TicketEvent:
    actor = as_actor(actor)
    return TicketEvent.objects.create(
        merchant_id=ticket.merchant_id,
        ticket=ticket,
        actor=actor.user,
        actor_label="" if actor.user is not None else actor.display,
        kind=kind,
        field=field,
        old_value=_jsonable(old),
        new_value=_jsonable(new),
        data=data or {},
        created_at=at or timezone.now(),
    )
