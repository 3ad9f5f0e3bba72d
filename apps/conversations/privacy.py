"""The conversations app's part of a contact's export, erasure and merge (registered with apps.contacts.privacy_hooks).

The erasure itself is a service (services/erasure.py): webhook processing uses it too.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.utils import timezone

from apps.contacts.redaction import Traces
from apps.conversations.models import Conversation, Message, MessageKind
from apps.conversations.services import erasure


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


def privacy_erase(*, contact, traces: Traces) -> None:
    erasure.contact_conversations_erase(contact=contact, traces=traces)


def privacy_merge(*, source, target) -> None:
    """Move the source contact's conversations; if both have an unresolved one on a channel for the same
    visitor (blank on WhatsApp and Messenger), resolve the source's first (one unresolved conversation per
    channel, contact and visitor). Each web chat keeps its visitor, so neither browser reads the other's."""
    with transaction.atomic():
        target_open = Conversation.objects.filter(contact=target).exclude(status="resolved")
        clash = target_open.filter(channel_id=OuterRef("channel_id"), visitor_id=OuterRef("visitor_id"))
        Conversation.objects.filter(contact=source).exclude(status="resolved").filter(Exists(clash)).update(
            status="resolved", resolved_at=timezone.now()
        )
        Conversation.objects.filter(contact=source).update(contact=target)


CONTACT_PANEL_ROWS = 10


def contact_panel(*, contact, request) -> str:
    from apps.conversations.selectors import contact_conversations

    rows = contact_conversations(contact=contact, limit=CONTACT_PANEL_ROWS)
    context = {"conversations": rows[:CONTACT_PANEL_ROWS], "more": len(rows) > CONTACT_PANEL_ROWS}
    return render_to_string("conversations/_contact_panel.html", context, request=request)


def register() -> None:
    from apps.contacts import privacy_hooks
    from apps.core.roles import Capability

    privacy_hooks.register_export_section("conversations", privacy_export)
    privacy_hooks.register_erase_hook(privacy_erase)
    privacy_hooks.register_erase_sweep(erasure.webhook_events_redact)
    privacy_hooks.register_merge_hook(privacy_merge)
    privacy_hooks.register_contact_panel(
        "conversations",
        privacy_hooks.ContactPanel(title="Conversations", render=contact_panel, capability=Capability.INBOX, order=40),
    )
