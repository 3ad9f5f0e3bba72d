"""Erasing a contact's conversations, and keeping erased people out of stored webhooks.

Erasure blanks the contact's messages and files, drops the live events of their conversations and
takes the person out of stored raw webhooks (processed, failed or still waiting): an object naming
one of their identifiers is dropped from its list, so a webhook processed after the erasure cannot
bring them back, and other people's items in the same body are kept. Webhooks that arrive later
about an erased person (a late status) are pruned the same way once processed.
"""

from __future__ import annotations

import json
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from apps.contacts.redaction import DROPPED, Traces, traces_build
from apps.contacts.selectors import erased_identifiers
from apps.conversations.models import Attachment, Conversation, LiveEvent, Message, WebhookEvent
from apps.conversations.services.retention import messages_redact
from apps.core import inputs


@transaction.atomic
def contact_conversations_erase(*, contact, traces: Traces) -> None:
    conversations = Conversation.objects.filter(contact=contact)
    ids = list(Message.objects.filter(conversation__contact=contact).values_list("id", flat=True))
    messages_redact(ids)
    Message.objects.filter(pk__in=ids).update(error_message="")
    Attachment.objects.filter(message_id__in=ids).update(source_url="", provider_media_id="", sha256="")
    for conversation in conversations.exclude(labels=[]):
        conversation.labels = [label for label in conversation.labels if not traces.mentions(str(label))]
        conversation.save(update_fields=["labels"])
    conversations.update(last_message_preview="", updated_at=timezone.now())
    # The browser's id is an identifier of the person too. Each thread gets a name of its own instead of a
    # blank (two unresolved threads from two browsers would collide on the one-unresolved rule), and no
    # widget visitor id looks like it, so no browser finds the thread again.
    conversations.exclude(visitor_id="").update(visitor_id=Concat(Value("erased-"), Cast("id", CharField())))
    LiveEvent.objects.filter(conversation_id__in=conversations.values("pk")).delete()


def webhook_events_redact(*, merchant_id: int, traces: Traces) -> int:
    """Take the person out of the merchant's stored webhook bodies; a body left about nobody is deleted.

    Reads every stored body of the merchant (processed ones are pruned after 30 days): erasures are rare,
    and a body is the only place some copies (a status to a number) can be found at all."""
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


# Where Meta names the person in a webhook: WhatsApp message senders, contacts and status recipients,
# preference owners, by number and by business-scoped user id; Messenger senders and recipients ({"id": ...}).
PERSON_KEYS = ("from", "wa_id", "recipient_id", "from_user_id", "user_id", "recipient_user_id")
PERSON_OBJECTS = ("sender", "recipient")


def webhook_event_forget_erased(*, event: WebhookEvent) -> bool:
    """After processing: a webhook about an erased person (a late status of a message they were sent)
    keeps nothing about them. A person who wrote again has a live identity and is kept.

    True when the stored body changed. One query for most events (the suppression lookup).
    """
    try:
        people = _people_in(inputs.json_loads(event.body, strip_controls=True))
    except ValueError:
        return False
    erased = _erased_identifiers(event.merchant_id, people)
    if not erased:
        return False
    traces = traces_build(names=[], phones=[], emails=[], identities=[("erased", value) for value in erased])
    body = _body_without(event.body, traces)
    if body is None:
        event.delete()
    else:
        WebhookEvent.objects.filter(pk=event.pk).update(body=body)
    return True


def _people_in(value, parent: str = "") -> set[str]:
    if isinstance(value, dict):
        found = {str(value[k]) for k in PERSON_KEYS if isinstance(value.get(k), str | int)}
        if parent in PERSON_OBJECTS and isinstance(value.get("id"), str | int):
            found.add(str(value["id"]))
        return found.union(*(_people_in(item, key) for key, item in value.items()))
    if isinstance(value, list):
        return set().union(*(_people_in(item, parent) for item in value))
    return set()


def _erased_identifiers(merchant_id: int, people: set[str]) -> list[str]:
    """Identifiers of erased people: suppressed, and no live contact holds them any more."""
    return sorted(erased_identifiers(merchant_id=merchant_id, values=people))


def _body_without(body: str, traces: Traces) -> str | None:
    try:
        data = inputs.json_loads(body, strip_controls=True)  # bounded: an ignored body may be too deep
    except ValueError:
        return traces.scrub(body)  # never processed as JSON anyway: keep it, without the person
    pruned = traces.prune_json(data)
    if pruned is DROPPED or not isinstance(pruned, dict):
        return None
    # No longer the bytes Meta signed: the signature was checked on arrival and is never checked again.
    return json.dumps(pruned, ensure_ascii=False, separators=(",", ":"))
