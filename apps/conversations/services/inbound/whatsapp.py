"""WhatsApp Cloud API webhooks applied: messages (and the items that change earlier ones), statuses,
marketing preferences and template reviews. `apps.meta.webhooks.parse_whatsapp` reads the body; this
module only applies its typed events.

A sender is identified by the wa_id (digits of the number) and, since Meta's 2026 change, by a
business-scoped user id; a user who hides their number sends the user id alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apps.contacts.models import IdentityKind
from apps.contacts.selectors import person_erased
from apps.contacts.services import Sender
from apps.conversations.models import Channel, ChannelKind
from apps.conversations.services.inbound.batch import InboundBatch, Incoming
from apps.conversations.services.inbound.common import (
    ProcessResult,
    problems_record,
    safely,
    sender_contact,
    status_to_message,
)
from apps.conversations.services.message_changes import (
    conversation_system_note,
    message_edit_apply,
    message_reaction_set,
)
from apps.meta import dispatch, webhooks
from apps.meta.webhooks import InboundMessage, PreferenceChange, StatusUpdate

logger = logging.getLogger(__name__)


def process(channel: Channel, data: dict, result: ProcessResult, batch: InboundBatch) -> None:
    """The messages people sent join the batch; every other item is applied after them, in body order."""
    parsed = webhooks.parse_whatsapp(data)
    problems_record(result, parsed.problems)
    channels: dict[str, Channel | None] = {}
    for to, event in parsed.events:
        if to not in channels:
            channels[to] = _channel_for(channel, to)
        target = channels[to]
        if target is not None and isinstance(event, InboundMessage) and event.kind not in _MESSAGE_KINDS:
            sender = Sender(identities_of(event.wa_id, event.user_id), event.profile_name)
            batch.add(target, Incoming(event=event, sender=sender, result=result))
        else:
            batch.defer(_apply, target, event, result)


def _channel_for(channel: Channel, number: str) -> Channel | None:
    """One Meta app posts for all its numbers: route each value to the merchant's channel for its number."""
    if not number or number == channel.phone_number_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.WHATSAPP, phone_number_id=number)
        .select_related("merchant")
        .first()
    )


def _apply(channel: Channel | None, event: webhooks.Event, result: ProcessResult) -> None:
    if isinstance(event, webhooks.Unhandled | webhooks.AccountUpdate):
        result.ignored += 1
        field = "account_update" if isinstance(event, webhooks.AccountUpdate) else event.field
        logger.info("conversations.webhook_ignored", extra={"field": field[:50]})
    elif isinstance(event, webhooks.ErrorReport):
        logger.warning("conversations.whatsapp_error", extra={"error": event.detail})
    elif channel is None:  # a number of the app that is no channel of this merchant
        result.ignored += 1
    elif isinstance(event, InboundMessage):
        safely(result, f"message {event.message_id}", _MESSAGE_KINDS[event.kind], channel, event, result)
    elif isinstance(event, StatusUpdate):
        safely(result, f"status {event.message_id}", status, channel, event, result)
    elif isinstance(event, PreferenceChange):
        _preference_item(channel, event, result)
    elif isinstance(event, webhooks.TemplateReview):
        safely(result, "template_status", _template_review, channel, event)
        result.template_updates += 1
    elif isinstance(event, webhooks.TemplateCategoryChange):
        safely(result, "template_category", _template_category, channel, event)
        result.template_updates += 1


def identities_of(wa_id: str, user_id: str) -> list[tuple[str, str]]:
    """The sender's ids, the number first: it is what an imported contact is known by."""
    ids = [(IdentityKind.WHATSAPP, wa_id)] if wa_id else []
    return ids + ([(IdentityKind.WHATSAPP_USER, user_id)] if user_id else [])


def _reaction(channel: Channel, event: InboundMessage, result: ProcessResult) -> None:
    message = message_reaction_set(
        channel=channel, provider_message_id=event.target_id, emoji=event.emoji, at=event.timestamp
    )
    _count_update(result, message, event)


def _edit(channel: Channel, event: InboundMessage, result: ProcessResult) -> None:
    message = message_edit_apply(
        channel=channel,
        provider_message_id=event.target_id,
        edit_id=event.message_id,
        body=event.content.body,
        at=event.timestamp,
    )
    _count_update(result, message, event)


def _count_update(result: ProcessResult, message, event: InboundMessage) -> None:
    if message is None:  # it points at a message we never stored (sent before the channel was connected)
        result.ignored += 1
        logger.info("conversations.whatsapp_change_unmatched", extra={"kind": event.kind, "id": event.message_id})
    else:
        result.updates += 1


def _system(channel: Channel, event: InboundMessage, result: ProcessResult) -> None:
    """A number or security-code change, noted in the conversation (internal). Meta sends it, not the
    person: about someone erased it brings nobody back."""
    identities = identities_of(event.wa_id, event.user_id)
    if _erased(channel, identities):
        result.erased_people += 1
        logger.info("conversations.notice_of_erased_person", extra={"channel_id": channel.pk})
        return
    change = event.identity_change
    note = conversation_system_note(
        channel=channel,
        contact=_notice_contact(channel, change, identities),
        provider_message_id=event.message_id,
        body=change.body,
        at=event.timestamp,
        metadata={"wa_type": "system", "system": change.system, "identity": change.identity},
    )
    result.updates += note is not None
    result.duplicates += note is None


def _notice_contact(channel: Channel, change: webhooks.IdentityChange, identities: list[tuple[str, str]]):
    """The notice's contact; a new number moves its identity first. Redelivered, the old number is no longer
    anyone's: the contact is found by the new one (resolving the old would create a stale duplicate)."""
    from apps.contacts.services import contact_identity_move

    old_kind, old_wa_id = identities[0]
    if not change.number_changed or old_kind != IdentityKind.WHATSAPP:
        return sender_contact(channel, identities)
    new_wa_id = change.new_wa_id
    moved = contact_identity_move(merchant=channel.merchant, kind=IdentityKind.WHATSAPP, old=old_wa_id, new=new_wa_id)
    return moved or sender_contact(channel, [(IdentityKind.WHATSAPP, new_wa_id), *identities[1:]])


_MESSAGE_KINDS = {webhooks.REACTION: _reaction, webhooks.EDIT: _edit, webhooks.SYSTEM: _system}


def _erased(channel: Channel, identities: list[tuple[str, str]]) -> bool:
    """Only a message the person writes creates a contact again after their erasure; what Meta reports about
    them (a preference, a notice) does not."""
    return person_erased(merchant_id=channel.merchant_id, values=[value for _, value in identities])


# --------------------------------------------------------------------------- statuses
def status(channel: Channel, update: StatusUpdate, result: ProcessResult) -> None:
    handled = dispatch.claimed(update, channel=channel)
    matched = status_to_message(channel, update)
    result.statuses += 1
    if not matched and not handled:
        result.unmatched_statuses.append(update.raw)


# --------------------------------------------------------------------------- preferences and templates
def _preference_item(channel: Channel, change: PreferenceChange, result: ProcessResult) -> None:
    if not change.marketing:
        result.ignored += 1
        return
    safely(result, f"user_preference {change.wa_id or change.user_id or None}", _preference, channel, change, result)
    result.preferences += 1


def _preference(channel: Channel, change: PreferenceChange, result: ProcessResult) -> None:
    from apps.contacts.models import ConsentEvent
    from apps.contacts.services import consent_record

    identities = identities_of(change.wa_id, change.user_id)
    if not identities:
        return
    if _erased(channel, identities):
        # A stop is already honoured by the suppression; a resume is no consent from someone we erased:
        # they grant again by a new interaction. Either way nothing is recorded and nobody is created.
        logger.info("conversations.preference_of_erased_person", extra={"channel_id": channel.pk,
                                                                        "value": change.value})  # fmt: skip
        result.erased_people += 1
        return
    action = "revoke" if change.value == "stop" else "grant"
    evidence = f"user_preferences:{change.wa_id or change.user_id}:{change.timestamp}:{change.value}"
    contact = sender_contact(channel, identities)
    if ConsentEvent.objects.filter(contact=contact, evidence_message_id=evidence).exists():
        return  # the same webhook delivered again
    consent_record(
        merchant=channel.merchant,
        contact=contact,
        channel="whatsapp",
        purpose="marketing",
        action=action,
        source="provider_preference",
        wording=(change.detail or f"marketing_messages {change.value} in WhatsApp")[:1000],
        evidence_message_id=evidence,
        actor_label="WhatsApp user_preferences webhook",
        occurred_at=datetime.fromtimestamp(int(change.timestamp), tz=UTC) if change.timestamp else None,
    )


def _template_review(channel: Channel, review: webhooks.TemplateReview) -> None:
    dispatch.publish(review, merchant=channel.merchant)


def _template_category(channel: Channel, change: webhooks.TemplateCategoryChange) -> None:
    if not change.completed:
        logger.info("conversations.template_category_announced", extra={"template": change.name})
        return
    dispatch.publish(change, merchant=channel.merchant)
