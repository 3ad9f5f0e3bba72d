"""Double opt-in on the channel: ask a customer to confirm a pending marketing grant where they chat.

A grant from a form (the widget's pre-chat box, any web form) stays `pending` while the merchant has
double opt-in on. The customer gets one automated message on their conversation with the signed
confirmation link and the offer to reply YES; that reply confirms the grant the message asked about.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.conversations import policy
from apps.conversations.models import Conversation, Message, MessageDirection

logger = logging.getLogger(__name__)

METADATA_KEY = "consent_confirm"
CHANNEL_LABELS = {"email": "e-mail", "whatsapp": "WhatsApp", "messenger": "Messenger", "sms": "SMS", "webchat": "chat"}


def consent_confirm_url(*, event, base_url: str | None = None) -> str:
    """The public link that confirms this pending grant (contacts' signed-token page)."""
    from apps.contacts.services import consent_confirm_token

    path = reverse("contacts:confirm", args=[consent_confirm_token(event=event)])
    return (base_url or settings.PUBLIC_BASE_URL).rstrip("/") + path


def consent_confirmation_text(*, merchant_name: str, channel: str, url: str) -> str:
    by = CHANNEL_LABELS.get(channel, channel)
    return (
        f"Please confirm that you want to receive news and offers from {merchant_name} by {by}: "
        f"open {url} or reply YES to this message."
    )


def consent_confirmation_request(*, conversation: Conversation, event, base_url: str | None = None) -> Message | None:
    """Send the confirmation request for a pending grant on this conversation; None when nothing was sent
    (the grant is not pending, or the channel refuses an automated message right now)."""
    from apps.conversations.services.messages import message_send

    if event.resulting_status != "pending" or event.contact_id != conversation.contact_id:
        return None
    text = consent_confirmation_text(
        merchant_name=conversation.channel.merchant.name,
        channel=event.channel,
        url=consent_confirm_url(event=event, base_url=base_url),
    )
    try:
        message = message_send(conversation=conversation, text=text, automated=True)
    except (policy.PolicyRefused, ValidationError) as exc:
        logger.info("conversations.consent_confirm_not_sent", extra={"event_id": event.pk, "reason": str(exc)})
        return None
    message.metadata[METADATA_KEY] = {"event_id": event.pk, "channel": event.channel, "purpose": event.purpose}
    message.save(update_fields=["metadata"])
    return message


def consent_confirm_by_reply(*, message: Message, contact) -> str | None:
    """A customer's YES to our confirmation request: confirm the grant it asked about.

    Returns the reply to send back, or None when there was no pending request to answer. Only the
    newest request of this conversation counts, and only while its grant is still pending.
    """
    from apps.contacts.models import ConsentState
    from apps.contacts.services import consent_record

    request = (
        Message.objects.filter(
            conversation_id=message.conversation_id,
            direction=MessageDirection.OUTBOUND,
            automated=True,
            metadata__has_key=METADATA_KEY,
        )
        .order_by("-id")
        .values_list("metadata", flat=True)
        .first()
    )
    asked = (request or {}).get(METADATA_KEY) or {}
    if not asked:
        return None
    state = ConsentState.objects.filter(contact=contact, channel=asked["channel"], purpose=asked["purpose"]).first()
    if state is None or state.status != "pending":
        return None
    merchant = message.channel.merchant
    consent_record(
        merchant=merchant, contact=contact, channel=asked["channel"], purpose=asked["purpose"], action="confirm",
        source="keyword", wording=f"Reply on {message.channel.kind} to confirmation request for #{asked['event_id']}: "
        f"{message.body.strip()[:200]}", evidence_message_id=message.provider_message_id or str(message.pk),
        actor_label=f"Reply on {message.channel.kind}", double_opt_in=False,
    )  # fmt: skip
    return f"Thank you: your subscription to news and offers from {merchant.name} is confirmed. Reply STOP to cancel."
