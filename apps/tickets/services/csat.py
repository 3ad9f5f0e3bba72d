"""Customer satisfaction: one short survey when a ticket is first solved, answered on a signed link.

Delivery: a utility message on the ticket's conversation (`message_send(..., automated=True)`); when the
channel's policy refuses it (e.g. outside WhatsApp's 24-hour window) the link goes by e-mail if the
contact has an address; otherwise the link is only shown to agents. `csat_sent_via` records which.

Answers: the first answer is stored; the customer may change it within 7 days of that first answer
(each change is a timeline entry); after that the survey is closed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.conversations.policy import PolicyRefused
from apps.conversations.services import message_send
from apps.core import inputs
from apps.tickets.models import Ticket, TicketConversation, TicketEventKind
from apps.tickets.services.timeline import Actor, event_record

logger = logging.getLogger(__name__)

SALT = "tickets.csat"
TOKEN_MAX_AGE = timedelta(days=30)
CHANGE_WINDOW = timedelta(days=7)
ENABLED_SETTING = "tickets_csat_enabled"
CUSTOMER = Actor(label="Customer")


def csat_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "m": ticket.merchant_id}, salt=SALT, compress=True)


def csat_url(ticket: Ticket) -> str:
    path = reverse("tickets:csat", kwargs={"token": csat_token(ticket)})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def csat_ticket_for_token(token: str) -> Ticket | None:
    try:
        data = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    return (
        Ticket.objects.select_related("merchant", "contact").filter(pk=data.get("t"), merchant_id=data.get("m")).first()
    )


def _survey_text(ticket: Ticket, link: str) -> str:
    return (
        f"Your request #{ticket.number} ({ticket.subject}) has been solved. How did we do? "
        f"Rate us from 1 (bad) to 5 (great) and tell us why: {link}"
    )


def csat_request(*, ticket: Ticket, now: datetime | None = None) -> str:
    """Send the survey once per ticket; answers the channel used ("" when not sent). Runs in the caller's
    transaction: the conversation message and the e-mail go out only if it commits."""
    now = now or timezone.now()
    if ticket.csat_sent_at is not None or not ticket.merchant.setting(ENABLED_SETTING, True):
        return ""
    link = csat_url(ticket)
    text = _survey_text(ticket, link)
    via, note = _send_on_conversation(ticket, text)
    if not via:
        via, note = _send_by_email(ticket, text, note)
    ticket.csat_sent_at, ticket.csat_sent_via, ticket.csat_note = now, via, note[:200]
    Ticket.objects.filter(pk=ticket.pk).update(csat_sent_at=now, csat_sent_via=via, csat_note=note[:200])
    event_record(ticket=ticket, actor=None, kind=TicketEventKind.CSAT_SENT, new=via, data={"note": note}, at=now)
    return via


def _send_on_conversation(ticket: Ticket, text: str) -> tuple[str, str]:
    link = TicketConversation.objects.filter(ticket=ticket).select_related("conversation__channel").first()
    if link is None:
        return "", "no_conversation"
    try:
        with transaction.atomic():  # a refusal must not poison the solving transaction
            message_send(conversation=link.conversation, text=text, automated=True)
    except PolicyRefused as exc:
        return "", exc.code
    except ValidationError as exc:
        return "", "invalid: " + "; ".join(exc.messages)
    return "conversation", ""


def _send_by_email(ticket: Ticket, text: str, note: str) -> tuple[str, str]:
    email = ticket.contact.email if ticket.contact_id and ticket.contact else ""
    if not email:
        return "link", note or "no_email"
    subject = f"How did we do with request #{ticket.number}?"
    transaction.on_commit(lambda: send_mail(subject, text, None, [email], fail_silently=True))
    return "email", note


@transaction.atomic
def csat_answer(*, ticket: Ticket, rating: int, comment: str = "", now: datetime | None = None) -> Ticket:
    now = now or timezone.now()
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError({"rating": "Choose a rating from 1 to 5."})
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": "At most 2000 characters."})
    if problem := inputs.text_problem(comment):  # a multipart form is not screened before the view
        raise ValidationError({"comment": problem})
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=ticket.pk)
    if ticket.csat_answered_at and now - ticket.csat_answered_at > CHANGE_WINDOW:
        raise ValidationError({"rating": "This survey was answered more than 7 days ago and is closed."})
    old = {"rating": ticket.csat_rating, "comment": ticket.csat_comment} if ticket.csat_answered_at else None
    ticket.csat_rating, ticket.csat_comment = rating, comment
    ticket.csat_answered_at = ticket.csat_answered_at or now
    ticket.csat_updated_at = now
    ticket.save(update_fields=["csat_rating", "csat_comment", "csat_answered_at", "csat_updated_at", "updated_at"])
    event_record(
        ticket=ticket,
        actor=CUSTOMER,
        kind=TicketEventKind.CSAT_ANSWERED,
        field="csat",
        old=old,
        new={"rating": rating, "comment": comment},
        at=now,
    )
    return ticket


def csat_can_change(ticket: Ticket, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return ticket.csat_answered_at is None or now - ticket.csat_answered_at <= CHANGE_WINDOW
