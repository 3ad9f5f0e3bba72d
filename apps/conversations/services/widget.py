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
from apps.conversations.services.double_opt_in import consent_confirmation_ask, consent_confirmation_request
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
    """Store a customer's message once per client id (a resend after a reconnect is a no-op), in the thread
    this visitor's browser opened (never another browser's thread of the same contact).

    Raises PrechatIncomplete, storing nothing, while the visitor lacks a field the pre-chat form requires:
    the form is enforced here too, since a script can write on the socket without ever showing it.
    `contact` is the one a socket kept from its last message; it is dropped when it has been merged since."""
    from apps.contacts.services import contact_resolve_identity
    from apps.conversations.selectors import contact_merged, visitor_contact

    fields = widget.prechat_fields(channel.settings or {})
    if widget.PRECHAT_REQUIRED in fields.values():
        contact = visitor_contact(channel=channel, visitor_id=visitor_id)  # fresh: the form may have just run
        if widget.prechat_missing(fields, contact):
            raise PrechatIncomplete
    elif contact is not None and contact_merged(contact=contact):
        contact = None  # the pre-chat's e-mail (or an agent) merged it: the identity leads to the merged contact
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
            visitor_id=visitor_id,
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
    """The visitor's contact with the form's name, e-mail and phone, and the marketing consent it gave (if any).

    An e-mail address the merchant's contacts already have (any case) finds that contact: the visitor's own
    contact is merged into it, so agents see one person; the consent is then pending, since typing an address
    proves nothing, and the visitor still sees only the threads its own browser opened (DR-66)."""
    from apps.contacts.services import contact_merge, contact_resolve_identity

    contact = contact_resolve_identity(
        merchant=channel.merchant, kind="webchat", external_id=visitor.visitor_id, name=cleaned["name"]
    )
    if cleaned["email"] and contact.email and cleaned["email"].lower() != contact.email.lower():
        # A consent given (or confirmed) for one address must not come to cover another one typed later.
        raise ValidationError({"email": ["This chat already has another e-mail address; ask us here to change it."]})
    known = _known_by_email(contact=contact, email=cleaned["email"]) if not contact.email else None
    contact = _prechat_fill(contact=contact, cleaned=cleaned)
    if known is not None:
        contact = contact_merge(source=contact, target=known)  # profile gaps only: the form never overwrites
    if cleaned["consent"]:
        _prechat_consent(
            channel=channel, contact=contact, cleaned=cleaned, request=request, visitor=visitor, matched=bool(known)
        )
    return contact


def _known_by_email(*, contact, email: str):
    """The merchant's live contact (neither erased nor merged) with this address, the oldest if several."""
    from apps.contacts.selectors import contact_list

    if not email:
        return None
    return contact_list(merchant=contact.merchant, email=email).exclude(pk=contact.pk).last()


def _prechat_fill(*, contact, cleaned: dict):
    from apps.contacts.services import contact_update

    updates = {k: cleaned[k] for k in ("name", "email") if cleaned[k]}
    if _phone_free(contact, cleaned.get("phone", "")):
        updates["phone"] = cleaned["phone"]
    return contact_update(contact=contact, **updates) if updates else contact


def _phone_free(contact, phone: str) -> bool:
    """A typed number fills an empty phone only: it never replaces a known one, nor takes (or reveals) the number
    of another contact, since a form field proves nothing about who owns a number."""
    from apps.contacts.models import Contact

    if not phone or contact.phone:
        return False
    return not Contact.objects.for_merchant(contact.merchant).filter(phone=phone).exclude(pk=contact.pk).exists()


def _prechat_consent(
    *, channel: Channel, contact, cleaned: dict, request: PrechatRequest, visitor: widget.Visitor, matched: bool
) -> None:
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
        double_opt_in=widget.consent_double_opt_in(consent_channel=cleaned["consent_channel"], matched=matched),
    )
    if event.resulting_status == "pending":
        _confirmation_request(
            channel=channel, contact=contact, event=event, base_url=request.base_url, visitor_id=visitor.visitor_id
        )


def _confirmation_request(*, channel: Channel, contact, event, base_url: str, visitor_id: str) -> None:
    if event.channel != channel.kind:
        consent_confirmation_ask(event=event, base_url=base_url)
        return
    # The grant is for this chat: ask in this browser's own thread, not in the contact's newest web chat,
    # which may be another browser's.
    conversation, _ = conversation_start(channel=channel, contact=contact, visitor_id=visitor_id)
    consent_confirmation_request(conversation=conversation, event=event, base_url=base_url)


@transaction.atomic
def widget_mark_seen(*, channel: Channel, visitor_id: str, conversation_id: int, up_to_id: int) -> int:
    """The customer's window showed agent messages up to this id: they count as read (the inbox's read ticks).
    Only in a thread this visitor's browser opened."""

    rows = (
        Message.objects.select_for_update()
        .filter(
            merchant_id=channel.merchant_id,
            conversation_id=conversation_id,
            conversation__visitor_id=visitor_id,
            direction=MessageDirection.OUTBOUND,
            status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
            id__lte=up_to_id,
        )
        .exclude(kind=MessageKind.NOTE)
        .order_by("id")[:SEEN_BATCH]
    )
    return sum(status_apply(message=m, status=MessageStatus.READ) for m in rows)
