"""Reads for the sandbox: its channels, the node a fake Graph request names, a customer's phone thread."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.campaigns.models import MessageTemplate
from apps.contacts.addresses import WHATSAPP_ADDRESS_KINDS, whatsapp_address
from apps.contacts.models import Contact, IdentityKind
from apps.contacts.selectors import contact_list
from apps.conversations.models import Channel, ChannelKind
from apps.merchants.models import Merchant
from apps.sandbox.models import SandboxMessage

PHONE_CONTACTS = 20
THREAD_LENGTH = 100


def sandbox_channels(*, merchant: Merchant) -> QuerySet[Channel]:
    """The merchant's active sandbox channels, WhatsApp first (the phone page's default)."""
    qs = Channel.objects.for_merchant(merchant).filter(
        settings__sandbox=True, is_active=True, kind__in=[ChannelKind.WHATSAPP, ChannelKind.MESSENGER]
    )
    return qs.order_by("-kind", "id")  # "whatsapp" > "messenger"


def graph_channel(*, node_id: str) -> Channel | None:
    """The sandbox channel a fake Graph request names by its number or page id; None for any other id, a
    real channel's included: the sandbox never answers for a channel with real credentials."""
    channel = (
        Channel.objects.filter(phone_number_id=node_id, kind=ChannelKind.WHATSAPP).first()
        or Channel.objects.filter(page_id=node_id, kind=ChannelKind.MESSENGER).first()
    ) if node_id else None  # fmt: skip
    return channel if channel is not None and channel.is_sandbox else None


def phone_contacts(*, merchant: Merchant, q: str = "") -> list[Contact]:
    """Contacts to play: live ones, by name, phone or e-mail (the contact list's own search)."""
    return list(contact_list(merchant=merchant, q=q.strip())[:PHONE_CONTACTS])


def contact_address(*, contact: Contact, channel: Channel) -> str | None:
    """Where the channel reaches this contact (the rule sends use), None when it cannot."""
    identities = [(i.kind, i.external_id) for i in contact.identities.order_by("id")]
    if channel.kind == ChannelKind.WHATSAPP:
        kinds = set(WHATSAPP_ADDRESS_KINDS)
        return whatsapp_address(phone=contact.phone, identities=[i for i in identities if i[0] in kinds])
    psids = [external_id for kind, external_id in identities if kind == IdentityKind.MESSENGER]
    return psids[-1] if psids else None


def phone_thread(*, channel: Channel, address: str) -> list[SandboxMessage]:
    """The last messages between the shop and this address, oldest first."""
    qs = SandboxMessage.objects.for_merchant(channel.merchant_id).filter(channel=channel, address=address)
    return list(reversed(qs.order_by("-id")[:THREAD_LENGTH]))


def thread_templates(*, merchant: Merchant, messages: list[SandboxMessage]) -> dict[tuple[str, str], MessageTemplate]:
    """The templates the thread's template messages name, by (name, language): one query."""
    keys = {_template_key(m.payload) for m in messages if m.kind == "template"} - {None}
    if not keys:
        return {}
    names = {name for name, _ in keys}
    qs = MessageTemplate.objects.for_merchant(merchant).filter(name__in=names)
    return {(t.name, t.language): t for t in qs if (t.name, t.language) in keys}


def _template_key(payload: dict) -> tuple[str, str] | None:
    template = payload.get("template") if isinstance(payload, dict) else None
    if not isinstance(template, dict):
        return None
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    return (str(template.get("name") or ""), str(code or "")) if template.get("name") else None


def thread_message(*, channel: Channel, address: str, message_id: int) -> SandboxMessage | None:
    return (
        SandboxMessage.objects.for_merchant(channel.merchant_id)
        .filter(channel=channel, address=address, pk=message_id)
        .first()
    )
