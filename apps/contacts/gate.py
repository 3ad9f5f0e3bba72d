"""The consent gate: may this merchant send this purpose on this channel to these contacts now?"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q

from apps.contacts.models import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    Contact,
    ContactIdentity,
    IdentityKind,
    Suppression,
)
from apps.contacts.suppression import contact_identifiers
from apps.merchants.models import Merchant

STATUS_REASON = {
    ConsentStatus.NONE: "no_consent",
    ConsentStatus.REVOKED: "revoked",
    ConsentStatus.PENDING: "pending_confirmation",
}


def _reachable(channel: str, contact: dict, kinds: set[str]) -> bool:
    """The contact has an address on the channel (WhatsApp also accepts the E.164 phone)."""
    if channel == Channel.WHATSAPP:
        return IdentityKind.WHATSAPP in kinds or bool(contact["phone"])
    if channel == Channel.SMS:
        return bool(contact["phone"])
    if channel == Channel.EMAIL:
        return bool(contact["email"])
    return channel in kinds


def _suppressed_after(merchant: Merchant, contacts: dict, identities: dict) -> dict[int, object]:
    """contact id -> creation time of the latest suppression matching any of its identifiers."""
    pairs_by_contact = {
        cid: contact_identifiers(phone=c["phone"], email=c["email"], identities=identities.get(cid, []))
        for cid, c in contacts.items()
    }
    wanted = {pair for pairs in pairs_by_contact.values() for pair in pairs}
    if not wanted:
        return {}
    rows = Suppression.objects.for_merchant(merchant).filter(value_hash__in={h for _, h in wanted})
    latest = {(row.kind, row.value_hash): row.created_at for row in rows}
    found = {}
    for cid, pairs in pairs_by_contact.items():
        times = [latest[pair] for pair in pairs if pair in latest]
        if times:
            found[cid] = max(times)
    return found


def consent_gate(
    *, merchant: Merchant, channel: str, contact_ids: list[int], purpose: str = "marketing"
) -> dict[int, str | None]:
    """None = may send; else the reason not to.

    Reasons: "erased", "no_identity" (no address on the channel, merged away, or not this
    merchant's contact), "no_consent", "revoked", "pending_confirmation", "suppressed" (the
    person was erased before and has not granted again since). Four queries for any number of
    ids; call it inside the claim transaction so it reads the state at that moment.
    """
    ids = list(dict.fromkeys(contact_ids))
    contacts = {
        c["id"]: c
        for c in Contact.objects.for_merchant(merchant)
        .filter(pk__in=ids)
        .values("id", "phone", "email", "erased_at", "merged_into_id")
    }
    identities: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for cid, kind, external_id in (
        ContactIdentity.objects.for_merchant(merchant)
        .filter(contact_id__in=list(contacts))
        .values_list("contact_id", "kind", "external_id")
    ):
        identities[cid].append((kind, external_id))
    states = {
        s.contact_id: s
        for s in ConsentState.objects.for_merchant(merchant)
        .filter(contact_id__in=list(contacts), channel=channel, purpose=purpose)
        .select_related("last_event")
        .only("contact_id", "status", "last_event__occurred_at", "since")
    }
    granted = {cid: c for cid, c in contacts.items() if cid in states and states[cid].status == ConsentStatus.GRANTED}
    suppressed = _suppressed_after(merchant, granted, identities)
    answer: dict[int, str | None] = {}
    for cid in ids:
        contact = contacts.get(cid)
        if contact is None or contact["merged_into_id"]:
            answer[cid] = "no_identity"
        elif contact["erased_at"]:
            answer[cid] = "erased"
        elif not _reachable(channel, contact, {kind for kind, _ in identities.get(cid, [])}):
            answer[cid] = "no_identity"
        elif cid not in states or states[cid].status != ConsentStatus.GRANTED:
            answer[cid] = STATUS_REASON[states[cid].status if cid in states else ConsentStatus.NONE]
        elif cid in suppressed and not _granted_since(merchant, cid, channel, purpose, suppressed[cid]):
            answer[cid] = "suppressed"
        else:
            answer[cid] = None
    return answer


def _granted_since(merchant: Merchant, contact_id: int, channel: str, purpose: str, since) -> bool:
    """The person acted to grant (or confirm) after the suppression: old evidence does not count."""
    return (
        ConsentEvent.objects.for_merchant(merchant)
        .filter(Q(action=ConsentAction.GRANT) | Q(action=ConsentAction.CONFIRM))
        .filter(contact_id=contact_id, channel=channel, purpose=purpose, resulting_status=ConsentStatus.GRANTED)
        .filter(occurred_at__gt=since)
        .exists()
    )
