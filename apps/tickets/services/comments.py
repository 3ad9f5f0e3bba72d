"""Public replies (sent to the customer through the conversation's channel) and internal comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.conversations.services import message_send
from apps.tickets.models import Ticket, TicketComment, TicketConversation, TicketEventKind, TicketStatus
from apps.tickets.services import sla
from apps.tickets.services.tickets import TicketRefused
from apps.tickets.services.timeline import Actor, as_actor, event_record

MAX_BODY = 10_000


def reply_conversation(*, ticket: Ticket, conversation=None):
    """The conversation a public reply goes to: the one asked for (must be linked) or the first linked."""
    links = TicketConversation.objects.filter(ticket=ticket).select_related(
        "conversation__channel", "conversation__contact"
    )
    if conversation is not None:
        link = links.filter(conversation_id=getattr(conversation, "pk", conversation)).first()
        if link is None:
            raise ValidationError({"conversation": "This conversation is not linked to the ticket."})
        return link.conversation
    link = links.order_by("id").first()
    if link is None:
        raise TicketRefused(
            "no_conversation", "Link a conversation before replying: public replies go out on its channel."
        )
    return link.conversation


@transaction.atomic
def ticket_comment_add(
    *,
    ticket: Ticket,
    body: str,
    public: bool,
    actor: Actor | Any | None = None,
    conversation=None,
    now: datetime | None = None,
) -> TicketComment:
    """Add a comment. A public one is sent with `message_send` (the channel's rules apply: PolicyRefused
    propagates, and nothing is written) and counts as the agent's reply for the SLA clocks."""
    now = now or timezone.now()
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something."})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": f"At most {MAX_BODY} characters."})
    actor = as_actor(actor)
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=ticket.pk)
    if public and ticket.status == TicketStatus.CLOSED:
        raise TicketRefused("ticket_closed", "Closed tickets cannot be replied to; open a follow-up ticket.")
    message = target = None
    if public:
        target = reply_conversation(ticket=ticket, conversation=conversation)
        message = message_send(conversation=target, author=actor.user, text=body)
    comment = TicketComment.objects.create(
        merchant_id=ticket.merchant_id,
        ticket=ticket,
        author=actor.user,
        author_label="" if actor.user else actor.display,
        is_public=public,
        body=body,
        conversation=target,
        message=message,
        created_at=now,
    )
    kind = TicketEventKind.REPLIED if public else TicketEventKind.COMMENTED
    event_record(ticket=ticket, actor=actor, kind=kind, data={"comment_id": comment.pk}, at=now)
    if public:
        sla.sla_agent_replied(ticket=ticket, at=now)
        if ticket.status == TicketStatus.NEW:
            event_record(
                ticket=ticket,
                actor=actor,
                kind=TicketEventKind.CHANGED,
                field="status",
                old=TicketStatus.NEW,
                new=TicketStatus.OPEN,
                at=now,
            )
            ticket.status = TicketStatus.OPEN
        ticket.save(update_fields=[*sla.SLA_FIELDS, "status", "updated_at"])
    return comment
