"""WhatsApp Cloud API webhooks: messages (and the items that change earlier ones), statuses,
marketing preferences and template reviews.

A sender is identified by `from` (the wa_id, digits of the number) and, since Meta's 2026 change, by
`from_user_id` (a business-scoped user id); a user who hides their number sends the user id alone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apps.contacts.models import IdentityKind
from apps.contacts.selectors import person_erased
from apps.conversations.models import Channel, ChannelKind
from apps.conversations.services.inbound.common import (
    ProcessResult,
    safely,
    sender_contact,
    status_to_message,
)
from apps.conversations.services.message_changes import (
    conversation_system_note,
    message_edit_apply,
    message_reaction_set,
)
from apps.conversations.services.messages import message_receive
from apps.meta import dispatch, webhooks
from apps.meta.content import wa_message_content
from apps.meta.webhooks import as_dict, as_list, seconds

logger = logging.getLogger(__name__)

NUMBER_CHANGES = ("customer_changed_number", "user_changed_number")  # Meta's older and current names


def process(channel: Channel, data: dict, result: ProcessResult) -> None:
    for entry in as_list(data.get("entry")):
        for change in as_list(as_dict(entry).get("changes")):
            change = as_dict(change)
            kind, value = change.get("field"), as_dict(change.get("value"))
            if kind == "messages":
                _messages(_channel_for(channel, value), value, result)
            elif kind == "user_preferences":
                _preferences(_channel_for(channel, value), value, result)
            elif kind == "message_template_status_update":
                safely(result, "template_status", _template_status, channel, value)
                result.template_updates += 1
            elif kind == "template_category_update":
                safely(result, "template_category", _template_category, channel, value)
                result.template_updates += 1
            else:
                result.ignored += 1
                logger.info("conversations.webhook_ignored", extra={"field": str(kind)[:50]})


def _channel_for(channel: Channel, value: dict) -> Channel | None:
    """One Meta app posts for all its numbers: route each value to the merchant's channel for its number."""
    number = str(as_dict(value.get("metadata")).get("phone_number_id") or "")
    if not number or number == channel.phone_number_id:
        return channel
    return (
        Channel.objects.filter(merchant_id=channel.merchant_id, kind=ChannelKind.WHATSAPP, phone_number_id=number)
        .select_related("merchant")
        .first()
    )


def identities_of(wa_id: str, user_id: str) -> list[tuple[str, str]]:
    """The sender's ids, the number first: it is what an imported contact is known by."""
    ids = [(IdentityKind.WHATSAPP, wa_id)] if wa_id else []
    return ids + ([(IdentityKind.WHATSAPP_USER, user_id)] if user_id else [])


def _profile_names(value: dict) -> dict[str, str]:
    names = {}
    for card in map(as_dict, as_list(value.get("contacts"))):
        name = str(as_dict(card.get("profile")).get("name") or "")
        for key in ("wa_id", "user_id"):
            if card.get(key):
                names[str(card[key])] = name
    return names


def _messages(channel: Channel | None, value: dict, result: ProcessResult) -> None:
    if channel is None:
        result.ignored += 1
        return
    names = _profile_names(value)
    for item in map(as_dict, as_list(value.get("messages"))):
        safely(result, f"message {item.get('id')}", _message, channel, item, names, result)
    for item in map(as_dict, as_list(value.get("statuses"))):
        safely(result, f"status {item.get('id')}", status, channel, item, result)
    for error in as_list(value.get("errors")):
        logger.warning("conversations.whatsapp_error", extra={"error": str(error)[:500]})


def _message(channel: Channel, item: dict, names: dict, result: ProcessResult) -> None:
    wa_id, user_id = str(item.get("from") or ""), str(item.get("from_user_id") or "")
    provider_id, kind = str(item.get("id") or ""), str(item.get("type") or "")
    identities = identities_of(wa_id, user_id)
    if not identities or not provider_id:
        result.ignored += 1
        return
    handler = _CHANGES.get(kind)
    if handler is not None:
        handler(channel, item, identities, result)
        return
    content = wa_message_content(item)
    message = message_receive(
        channel=channel,
        contact=sender_contact(channel, identities, names.get(wa_id) or names.get(user_id, "")),
        provider_message_id=provider_id,
        kind=content.kind,
        body=content.body,
        attachments=content.attachments,
        received_at=seconds(item.get("timestamp")),
        metadata=content.metadata,
        keyword_text=content.keyword,
    )
    result.messages += message is not None
    result.duplicates += message is None


def _reaction(channel: Channel, item: dict, identities, result: ProcessResult) -> None:
    reaction = as_dict(item.get("reaction"))
    message = message_reaction_set(
        channel=channel,
        provider_message_id=str(reaction.get("message_id") or ""),
        emoji=str(reaction.get("emoji") or ""),
        at=seconds(item.get("timestamp")),
    )
    _count_update(result, message, "reaction", item)


def _edit(channel: Channel, item: dict, identities, result: ProcessResult) -> None:
    edit = as_dict(item.get("edit"))
    content = wa_message_content(as_dict(edit.get("message")))
    message = message_edit_apply(
        channel=channel,
        provider_message_id=str(edit.get("original_message_id") or ""),
        edit_id=str(item.get("id")),
        body=content.body,
        at=seconds(item.get("timestamp")),
    )
    _count_update(result, message, "edit", item)


def _count_update(result: ProcessResult, message, kind: str, item: dict) -> None:
    if message is None:  # it points at a message we never stored (sent before the channel was connected)
        result.ignored += 1
        logger.info("conversations.whatsapp_change_unmatched", extra={"kind": kind, "id": str(item.get("id"))})
    else:
        result.updates += 1


def _system(channel: Channel, item: dict, identities, result: ProcessResult) -> None:
    """A number or security-code change, noted in the conversation (internal). Meta sends it, not the
    person: about someone erased it brings nobody back."""
    if _erased(channel, identities):
        result.erased_people += 1
        logger.info("conversations.notice_of_erased_person", extra={"channel_id": channel.pk})
        return
    system = as_dict(item.get("system"))
    notice = str(system.get("type") or "")
    note = conversation_system_note(
        channel=channel,
        contact=_notice_contact(channel, system, identities),
        provider_message_id=str(item.get("id")),
        body=str(system.get("body") or f"WhatsApp notice: {notice or 'system'}"),
        at=seconds(item.get("timestamp")),
        metadata={"wa_type": "system", "system": system, "identity": as_dict(item.get("identity"))},
    )
    result.updates += note is not None
    result.duplicates += note is None


def _notice_contact(channel: Channel, system: dict, identities: list[tuple[str, str]]):
    """The notice's contact; a new number moves its identity first. Redelivered, the old number is no longer
    anyone's: the contact is found by the new one (resolving the old would create a stale duplicate)."""
    from apps.contacts.services import contact_identity_move

    new_wa_id = str(system.get("new_wa_id") or system.get("wa_id") or "")
    old_kind, old_wa_id = identities[0]
    if system.get("type") not in NUMBER_CHANGES or not new_wa_id or old_kind != IdentityKind.WHATSAPP:
        return sender_contact(channel, identities)
    moved = contact_identity_move(merchant=channel.merchant, kind=IdentityKind.WHATSAPP, old=old_wa_id, new=new_wa_id)
    return moved or sender_contact(channel, [(IdentityKind.WHATSAPP, new_wa_id), *identities[1:]])


_CHANGES = {"reaction": _reaction, "edit": _edit, "system": _system}


def _erased(channel: Channel, identities: list[tuple[str, str]]) -> bool:
    """Only a message the person writes creates a contact again after their erasure; what Meta reports about
    them (a preference, a notice) does not."""
    return person_erased(merchant_id=channel.merchant_id, values=[value for _, value in identities])


# --------------------------------------------------------------------------- statuses
def status(channel: Channel, item: dict, result: ProcessResult) -> None:
    update = webhooks.wa_status(item)
    handled = dispatch.claimed(update, channel=channel)
    matched = status_to_message(channel, update)
    result.statuses += 1
    if not matched and not handled:
        result.unmatched_statuses.append(item)


# --------------------------------------------------------------------------- preferences and templates
def _preferences(channel: Channel | None, value: dict, result: ProcessResult) -> None:
    if channel is None:
        result.ignored += 1
        return
    for change in map(webhooks.wa_preference, map(as_dict, as_list(value.get("user_preferences")))):
        if not change.marketing:
            result.ignored += 1
            continue
        safely(
            result, f"user_preference {change.wa_id or change.user_id or None}", _preference, channel, change, result
        )
        result.preferences += 1


def _preference(channel: Channel, change: webhooks.PreferenceChange, result: ProcessResult) -> None:
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


def _template_status(channel: Channel, value: dict) -> None:
    dispatch.publish(webhooks.wa_template_review(value), merchant=channel.merchant)


def _template_category(channel: Channel, value: dict) -> None:
    change = webhooks.wa_template_category(value)
    if not change.completed:
        logger.info("conversations.template_category_announced", extra={"template": change.name})
        return
    dispatch.publish(change, merchant=channel.merchant)
