"""Double opt-in on the channel: ask a customer to confirm a pending marketing grant on that channel.

A grant from a form (the widget's pre-chat box, any web form) stays `pending` while the merchant has
double opt-in on, and always when the person only typed the address. Only the grant's own channel can
confirm it: a pending e-mail grant gets the confirmation e-mail, a pending grant on a chat channel one
automated message on the contact's conversation there, with the signed link and the offer to reply YES
(the contacts keyword engine confirms that YES, since the grant is pending on that very channel).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError

from apps.conversations import policy
from apps.conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

METADATA_KEY = "consent_confirm"
CHANNEL_LABELS = {"email": "e-mail", "whatsapp": "WhatsApp", "messenger": "Messenger", "sms": "SMS", "webchat": "chat"}


def consent_confirmation_text(*, merchant_name: str, channel: str, url: str) -> str:
    by = CHANNEL_LABELS.get(channel, channel)
    return (
        f"Please confirm that you want to receive news and offers from {merchant_name} by {by}: "
        f"open {url} or reply YES to this message."
    )


def consent_confirmation_request(*, conversation: Conversation, event, base_url: str | None = None) -> Message | None:
    """Send the confirmation request for a pending grant on this conversation; None when nothing was sent
    (the grant is not pending or is for another channel, or the channel refuses an automated message now)."""
    from apps.contacts.services import consent_confirm_url
    from apps.conversations.services.messages import message_send

    if event.resulting_status != "pending" or event.contact_id != conversation.contact_id:
        return None
    if event.channel != conversation.channel.kind:
        return None  # a YES or a click in another channel proves nothing about this one
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


def consent_confirmation_ask(*, event, base_url: str | None = None) -> bool:
    """Ask for a pending grant's confirmation on its own channel; False when there is no way to ask yet
    (no conversation on that channel): the grant stays pending until the person says YES there."""
    from apps.contacts.services import consent_confirmation_email

    if event.channel == "email":
        return consent_confirmation_email(event=event, base_url=base_url)
    conversation = (
        Conversation.objects.for_merchant(event.merchant_id)
        .filter(contact_id=event.contact_id, channel__kind=event.channel)
        .select_related("channel__merchant")
        .order_by("-id")
        .first()
    )
    if conversation is None:
        return False
    return consent_confirmation_request(conversation=conversation, event=event, base_url=base_url) is not None
