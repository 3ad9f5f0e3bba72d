"""Export everything about a contact, erase a contact, export the merchant's whole consent ledger."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from apps.contacts import privacy_hooks
from apps.contacts.models import ConsentEvent, ConsentState, Contact, ContactIdentity, Suppression
from apps.contacts.services import erasure
from apps.contacts.suppression import contact_identifiers
from apps.core.csv_export import csv_lines
from apps.merchants.models import Merchant


def contact_family_ids(contact: Contact) -> list[int]:
    """The contact and every contact merged into it: their ledgers are its ledger."""
    merged = Contact.objects.for_merchant(contact.merchant_id).filter(merged_into=contact).values_list("pk", flat=True)
    return [contact.pk, *merged]


def _event_json(event: ConsentEvent) -> dict:
    return {
        "id": event.pk,
        "contact_id": event.contact_id,
        "channel": event.channel,
        "purpose": event.purpose,
        "action": event.action,
        "resulting_status": event.resulting_status,
        "source": event.source,
        "collected_via": event.collected_via,
        "wording": event.wording,
        "evidence_url": event.evidence_url,
        "evidence_message_id": event.evidence_message_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "actor": event.actor.email if event.actor_id else None,
        "actor_label": event.actor_label,
        "at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
    }


def contact_export(*, contact: Contact) -> dict:
    """Everything Charla holds about the contact (JSON-able): profile, identities, consent,
    and the sections other apps registered (conversations, messages, tickets...)."""
    family = contact_family_ids(contact)
    events = ConsentEvent.objects.for_merchant(contact.merchant_id).filter(contact_id__in=family)
    states = ConsentState.objects.for_merchant(contact.merchant_id).filter(contact=contact)
    data = {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "id": contact.pk, "name": contact.name, "phone": contact.phone, "email": contact.email,
            "timezone": contact.timezone, "locale": contact.locale, "tags": contact.tags,
            "attributes": contact.attributes,
            "first_seen_at": contact.first_seen_at.isoformat() if contact.first_seen_at else None,
            "last_seen_at": contact.last_seen_at.isoformat() if contact.last_seen_at else None,
            "created_at": contact.created_at.isoformat(),
            "erased_at": contact.erased_at.isoformat() if contact.erased_at else None,
            "merged_contact_ids": family[1:],
        },
        "identities": [
            {"kind": i.kind, "external_id": i.external_id, "created_at": i.created_at.isoformat()}
            for i in ContactIdentity.objects.for_merchant(contact.merchant_id).filter(contact_id__in=family)
        ],
        "consent_state": [
            {"channel": s.channel, "purpose": s.purpose, "status": s.status, "since": s.since.isoformat()}
            for s in states.order_by("channel", "purpose")
        ],
        "consent_events": [_event_json(e) for e in events.select_related("actor").order_by("id")],
    }  # fmt: skip
    for name, section in privacy_hooks.export_sections().items():
        data[name] = section(contact)
    return data


BLANK_PROFILE = {
    "name": "", "phone": "", "email": "", "timezone": "", "phone_timezone": "", "locale": "",
    "tags": [], "attributes": {}, "first_seen_at": None, "last_seen_at": None,
}  # fmt: skip


@transaction.atomic
def contact_erase(*, contact: Contact) -> Contact:
    """Remove every copy of the person's data; keep a hashed suppression entry and the redacted ledger.

    Erase hooks of other apps run first, with the family's traces (identifiers and names) so they can
    find copies not linked to the contact (raw webhooks, event payloads). The ledger's events stay as
    the proof of what happened, minus the IP, user agent and evidence URL, with identifiers in evidence
    ids replaced by suppression tokens (docs/architecture.md, DR-9).
    """
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    family = list(Contact.objects.filter(pk__in=contact_family_ids(contact)).order_by("pk"))
    family_ids = [member.pk for member in family]
    identities = list(ContactIdentity.objects.filter(contact_id__in=family_ids))
    _suppress(contact.merchant_id, family, identities)
    traces = erasure.family_traces(family, identities)
    for hook in privacy_hooks.erase_hooks():
        for member in family:
            hook(contact=member, traces=traces)
    for sweep in privacy_hooks.erase_sweeps():
        sweep(merchant_id=contact.merchant_id, traces=traces)
    ContactIdentity.objects.filter(contact_id__in=family_ids).delete()
    now = timezone.now()
    Contact.objects.filter(pk__in=family_ids).update(**BLANK_PROFILE, erased_at=now, updated_at=now)
    erasure.ledger_redact(family_ids=family_ids, traces=traces)
    erasure.imports_redact(merchant_id=contact.merchant_id, traces=traces)
    erasure.admin_log_redact(family_ids=family_ids, traces=traces)
    contact.refresh_from_db()
    return contact


def _suppress(merchant_id: int, family: list[Contact], identities: list[ContactIdentity]) -> None:
    pairs = set()
    for member in family:
        pairs |= contact_identifiers(
            phone=member.phone, email=member.email,
            identities=[(i.kind, i.external_id) for i in identities if i.contact_id == member.pk],
        )  # fmt: skip
    Suppression.objects.bulk_create(
        [Suppression(merchant_id=merchant_id, kind=kind, value_hash=value) for kind, value in pairs],
        ignore_conflicts=True,
    )
    _refresh_suppression_time(merchant_id, pairs)


def _refresh_suppression_time(merchant_id: int, pairs: set) -> None:
    # A person erased twice is suppressed from the latest erasure: grants in between no longer count.
    for kind, value in pairs:
        Suppression.objects.filter(merchant_id=merchant_id, kind=kind, value_hash=value).update(
            created_at=timezone.now()
        )


# ------------------------------------------------------------------ auditor export
LEDGER_COLUMNS = [
    "event_id", "contact_id", "contact_name", "contact_phone", "contact_email", "channel", "purpose", "action",
    "resulting_status", "source", "collected_via", "wording", "evidence_url", "evidence_message_id", "ip_address",
    "user_agent", "actor", "actor_label", "occurred_at", "recorded_at",
]  # fmt: skip


def consent_ledger_csv(*, merchant: Merchant, contact_id: int | None = None) -> Iterator[str]:
    """The merchant's whole ledger as CSV lines, streamed in id order (constant memory)."""
    events = ConsentEvent.objects.for_merchant(merchant).select_related("contact", "actor").order_by("id")
    if contact_id is not None:
        events = events.filter(contact_id=contact_id)
    return csv_lines(LEDGER_COLUMNS, (_ledger_row(e) for e in events.iterator(chunk_size=2000)))


def _ledger_row(e: ConsentEvent) -> list:
    return [
        e.pk, e.contact_id, e.contact.name, e.contact.phone, e.contact.email, e.channel, e.purpose, e.action,
        e.resulting_status, e.source, e.collected_via, e.wording, e.evidence_url, e.evidence_message_id,
        e.ip_address or "", e.user_agent, e.actor.email if e.actor_id else "", e.actor_label,
        e.occurred_at.isoformat(), e.recorded_at.isoformat(),
    ]  # fmt: skip
