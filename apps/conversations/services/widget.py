"""Writes the customer widget makes (HTTP views and the widget socket alike): messages, files, pre-chat, read ticks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.conversations import uploads, widget
from apps.conversations.models import Channel, ChannelKind, Message, MessageDirection, MessageKind, MessageStatus
from apps.conversations.services.conversations import conversation_start
from apps.conversations.services.double_opt_in import consent_confirmation_ask
from apps.conversations.services.messages import message_receive, status_apply

SEEN_BATCH = 100  # read ticks applied per "seen" frame; the widget sends one per batch it shows


class PrechatIncomplete(Exception):
    """A message or file from a visitor who skipped the pre-chat fields the widget requires."""

    message = widget.PRECHAT_FIRST


@dataclass(frozen=True)
class PrechatRequest:
    """What the pre-chat form's call carries besides the cleaned fields: consent evidence of the request."""

    base_url: str
    ip_address: str | None
    user_agent: str


def widget_message_receive(
    *, channel: Channel, visitor_id: str, client_id: str, text: str, attachments: list | None = None, contact=None
) -> tuple[Message | None, dict]:
    """Store a customer's message once per client id (a resend after a reconnect is a no-op).

    Raises PrechatIncomplete, storing nothing, while the visitor lacks a field the pre-chat form requires:
    the form is enforced here too, since a script can write on the socket without ever showing it."""
    from apps.contacts.services import contact_resolve_identity
    from apps.conversations.selectors import visitor_contact

    fields = widget.prechat_fields(channel.settings or {})
    if widget.PRECHAT_REQUIRED in fields.values():
        contact = visitor_contact(channel=channel, visitor_id=visitor_id)  # fresh: the form may have just run
        if widget.prechat_missing(fields, contact):
            raise PrechatIncomplete
    if contact is None:
        contact = contact_resolve_identity(merchant=channel.merchant, kind=ChannelKind.WEBCHAT, external_id=visitor_id)
    provider_id = f"webchat:{client_id}"
    try:
        message = message_receive(
            channel=channel,
            contact=contact,
            provider_message_id=provider_id,
            kind="media" if attachments else "text",
            body=text,
            attachments=attachments or [],
            received_at=timezone.now(),
            raw={"client_id": client_id},
        )
    except IntegrityError:  # two sockets of the same visitor raced with one client id
        message = None
    duplicate = message is None
    if message is None:
        message = Message.objects.filter(channel=channel, provider_message_id=provider_id).first()
    return message, {
        "message_id": message.pk if message else None,
        "conversation_id": message.conversation_id if message else None,
        "duplicate": duplicate,
        "contact": contact,
    }


@transaction.atomic
def widget_upload_receive(
    *, channel: Channel, visitor_id: str, client_id: str, text: str, upload: Any, media_type: str
) -> dict:
    """A customer's file with its message, stored together (the file only once per client id); the ack fields."""
    message, result = widget_message_receive(
        channel=channel,
        visitor_id=visitor_id,
        client_id=client_id,
        text=text,
        attachments=[uploads.attachment_summary(upload, media_type)],
    )
    if not result["duplicate"]:
        uploads.attachment_store(message=message, upload=upload, media_type=media_type)
    result.pop("contact")
    return result


@transaction.atomic
def widget_prechat_save(*, channel: Channel, visitor: widget.Visitor, cleaned: dict, request: PrechatRequest):
    """The visitor's contact with the form's name, e-mail and phone, and the marketing consent it gave (if any)."""
    from apps.contacts.services import contact_resolve_identity, contact_update

    contact = contact_resolve_identity(
        merchant=channel.merchant, kind="webchat", external_id=visitor.visitor_id, name=cleaned["name"]
    )
    if cleaned["email"] and contact.email and cleaned["email"].lower() != contact.email.lower():
        # A consent given (or confirmed) for one address must not come to cover another one typed later.
        raise ValidationError({"email": ["This chat already has another e-mail address; ask us here to change it."]})
    updates = {k: cleaned[k] for k in ("name", "email") if cleaned[k]}
    if _phone_free(contact, cleaned.get("phone", "")):
        updates["phone"] = cleaned["phone"]
    if updates:
        contact = contact_update(contact=contact, **updates)
    if cleaned["consent"]:
        _prechat_consent(channel=channel, contact=contact, cleaned=cleaned, request=request)
    return contact


def _phone_free(contact, phone: str) -> bool:
    """A typed number fills an empty phone only: it never replaces a known one, nor takes (or reveals) the number
    of another contact, since a form field proves nothing about who owns a number."""
    from apps.contacts.models import Contact

    if not phone or contact.phone:
        return False
    return not Contact.objects.for_merchant(contact.merchant).filter(phone=phone).exclude(pk=contact.pk).exists()


def _prechat_consent(*, channel: Channel, contact, cleaned: dict, request: PrechatRequest) -> None:
    from apps.contacts.services import consent_record

    event = consent_record(
        merchant=channel.merchant,
        contact=contact,
        channel=cleaned["consent_channel"],
        purpose="marketing",
        action="grant",
        source="widget",
        wording=cleaned["consent_wording"],
        evidence_url=cleaned["page_url"],
        ip_address=request.ip_address,
        user_agent=request.user_agent[:500],
        actor_label=f"Web-chat widget {channel.name}"[:200],
        double_opt_in=widget.consent_double_opt_in(consent_channel=cleaned["consent_channel"]),
    )
    if event.resulting_status == "pending":
        _confirmation_request(channel=channel, contact=contact, event=event, base_url=request.base_url)


def _confirmation_request(*, channel: Channel, contact, event, base_url: str) -> None:

    if event.channel == channel.kind:  # the grant is for this chat: the conversation is where to ask
        conversation_start(channel=channel, contact=contact)
    consent_confirmation_ask(event=event, base_url=base_url)


@transaction.atomic
def widget_mark_seen(*, channel: Channel, conversation_id: int, up_to_id: int) -> int:
    """The customer's window showed agent messages up to this id: they count as read (the inbox's read ticks)."""

    rows = (
        Message.objects.select_for_update()
        .filter(
            merchant_id=channel.merchant_id,
            conversation_id=conversation_id,
            direction=MessageDirection.OUTBOUND,
            status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
            id__lte=up_to_id,
        )
        .exclude(kind=MessageKind.NOTE)
        .order_by("id")[:SEEN_BATCH]
    )
    return sum(status_apply(message=m, status=MessageStatus.READ) for m in rows)
