"""The conversations app's part of a contact's export, erasure and merge (registered with apps.contacts.privacy).

Erasure blanks the contact's messages and files, drops the live events of their conversations and
takes the person out of stored raw webhooks (processed, failed or still waiting): an object naming
one of their identifiers is dropped from its list, so a webhook processed after the erasure cannot
bring them back, and other people's items in the same body are kept.
"""

from __future__ import annotations

import json
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.contacts.redaction import DROPPED, Traces
from apps.conversations.models import Attachment, Conversation, LiveEvent, Message, MessageKind, WebhookEvent
from apps.conversations.services.retention import messages_redact


def privacy_export(contact) -> list[dict]:
    conversations = Conversation.objects.filter(contact=contact).select_related("channel").order_by("id")
    messages_by_conversation: dict[int, list[dict]] = {}
    for message in Message.objects.filter(conversation__contact=contact).exclude(kind=MessageKind.NOTE).order_by("id"):
        messages_by_conversation.setdefault(message.conversation_id, []).append(
            {
                "direction": message.direction,
                "kind": message.kind,
                "body": message.body,
                "attachments": message.attachments,
                "status": message.status,
                "created_at": message.created_at.isoformat(),
            }
        )
    return [
        {
            "id": c.pk,
            "channel": c.channel.kind,
            "status": c.status,
            "created_at": c.created_at.isoformat(),
            "messages": messages_by_conversation.get(c.pk, []),
        }
        for c in conversations
    ]


@transaction.atomic
def privacy_erase(*, contact, traces: Traces) -> None:
    conversations = Conversation.objects.filter(contact=contact)
    ids = list(Message.objects.filter(conversation__contact=contact).values_list("id", flat=True))
    messages_redact(ids)
    Message.objects.filter(pk__in=ids).update(error_message="")
    Attachment.objects.filter(message_id__in=ids).update(source_url="", provider_media_id="", sha256="")
    for conversation in conversations.exclude(labels=[]):
        conversation.labels = [label for label in conversation.labels if not traces.mentions(str(label))]
        conversation.save(update_fields=["labels"])
    conversations.update(last_message_preview="", updated_at=timezone.now())
    LiveEvent.objects.filter(conversation_id__in=conversations.values("pk")).delete()
    webhook_events_redact(merchant_id=contact.merchant_id, traces=traces)


def webhook_events_redact(*, merchant_id: int, traces: Traces) -> int:
    """Take the person out of the merchant's stored webhook bodies; a body left about nobody is deleted."""
    if not traces.identifiers:
        return 0
    mentioning = reduce(or_, (Q(body__icontains=value) for value in traces.identifiers))
    changed = 0
    for event in WebhookEvent.objects.filter(mentioning, merchant_id=merchant_id).select_for_update():
        changed += 1
        body = _body_without(event.body, traces)
        if body is None:
            event.delete()
        else:
            event.body = body
            event.save(update_fields=["body"])
    return changed


def _body_without(body: str, traces: Traces) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return traces.scrub(body)  # never processed as JSON anyway: keep it, without the person
    pruned = traces.prune_json(data)
    if pruned is DROPPED or not isinstance(pruned, dict):
        return None
    # No longer the bytes Meta signed: the signature was checked on arrival and is never checked again.
    return json.dumps(pruned, ensure_ascii=False, separators=(",", ":"))


def privacy_merge(*, source, target) -> None:
    """Move the source contact's conversations; if both have an unresolved one on a channel, resolve the
    source's first (one unresolved conversation per channel and contact)."""
    with transaction.atomic():
        target_open = set(
            Conversation.objects.filter(contact=target).exclude(status="resolved").values_list("channel_id", flat=True)
        )
        Conversation.objects.filter(contact=source, channel_id__in=target_open).exclude(status="resolved").update(
            status="resolved", resolved_at=timezone.now()
        )
        Conversation.objects.filter(contact=source).update(contact=target)


def register() -> None:
    from apps.contacts import privacy

    privacy.register_export_section("conversations", privacy_export)
    privacy.register_erase_hook(privacy_erase)
    privacy.register_merge_hook(privacy_merge)
