"""The consent gate: may this merchant send this purpose on this channel to these contacts now?"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q

from apps.contacts.addresses import whatsapp_address
from apps.contacts.models import (
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    Contact,
    ContactIdentity,
    Purpose,
    Suppression,
)
from apps.contacts.suppression import contact_identifiers, suppression_hasher
from apps.core.sql import column_in
from apps.merchants.models import Merchant

STATUS_REASON = {
    ConsentStatus.NONE: "no_consent",
    ConsentStatus.REVOKED: "revoked",
    ConsentStatus.PENDING: "pending_confirmation",
}
GATE_CONTACT_FIELDS = ("id", "phone", "email", "erased_at", "merged_into_id")
# What each reason means, for the people who read a refusal (the inbox, the API's error message).
REASON_TEXT = {
    "erased": "the contact was erased",
    "no_identity": "the contact cannot be reached on this channel",
    "no_consent": "the contact never granted marketing consent on this channel",
    "revoked": "the contact revoked marketing consent on this channel",
    "pending_confirmation": "the contact has not confirmed the marketing opt-in yet",
    "suppressed": "the person was erased before and has not granted consent again since",
}
# Erasure is what puts a person's identifiers on the suppression list, so both name the contract's `suppressed`;
# every other reason is a missing consent.
SUPPRESSION_REASONS = frozenset({"erased", "suppressed"})


def refusal_code(reason: str) -> str:
    """The outside contract's code for a gate reason: `suppressed` or `no_marketing_consent`."""
    return "suppressed" if reason in SUPPRESSION_REASONS else "no_marketing_consent"


def _reachable(channel: str, contact: dict, identities: list[tuple[str, str]]) -> bool:
    """The contact has an address on the channel (WhatsApp: a wa_id, the E.164 phone or a user id)."""
    if channel == ConsentChannel.WHATSAPP:
        return whatsapp_address(phone=contact["phone"], identities=identities) is not None
    if channel == ConsentChannel.SMS:
        return bool(contact["phone"])
    if channel == ConsentChannel.EMAIL:
        return bool(contact["email"])
    return channel in {kind for kind, _ in identities}


def _suppressed_after(merchant: Merchant, contacts: dict, identities: dict) -> dict[int, object]:
    """contact id -> creation time of the latest suppression matching any of its identifiers."""
    suppressions = Suppression.objects.for_merchant(merchant)
    if not contacts or not suppressions.exists():  # most merchants: nothing to hash against
        return {}
    digest = suppression_hasher()
    pairs_by_contact = {
        cid: contact_identifiers(phone=c["phone"], email=c["email"], identities=identities.get(cid, ()), digest=digest)
        for cid, c in contacts.items()
    }
    wanted = {value_hash for pairs in pairs_by_contact.values() for _, value_hash in pairs}
    if not wanted:
        return {}
    latest = {
        (kind, value_hash): created_at
        for kind, value_hash, created_at in suppressions.filter(value_hash__in=wanted).values_list(
            "kind", "value_hash", "created_at"
        )
    }
    found = {}
    for cid, pairs in pairs_by_contact.items():
        times = [latest[pair] for pair in pairs if pair in latest]
        if times:
            found[cid] = max(times)
    return found


def contact_identities(*, merchant: Merchant, contact_ids) -> dict[int, list[tuple[str, str]]]:
    """contact id -> [(kind, external id)], every channel, one query."""
    identities: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = (
        ContactIdentity.objects.for_merchant(merchant)
        .filter(column_in(ContactIdentity, "contact_id", contact_ids))
        .values_list("contact_id", "kind", "external_id")
    )
    for cid, kind, external_id in rows:
        identities[cid].append((kind, external_id))
    return identities


def consent_gate(
    *, merchant: Merchant, channel: str, contact_ids: list[int], purpose: str = "marketing"
) -> dict[int, str | None]:
    """None = may send; else the reason not to.

    Reasons, first match wins: "no_identity" (merged away, or not this merchant's contact), "erased",
    "no_identity" (no address on the channel), "suppressed" (the person was erased before and has not
    granted again since, whatever the consent state says), "no_consent", "revoked",
    "pending_confirmation". At most five queries for any number of ids (plus one per suppression match); call
    it inside the claim transaction so it reads the state at that moment.
    """
    ids = list(dict.fromkeys(contact_ids))
    rows = Contact.objects.for_merchant(merchant).filter(column_in(Contact, "id", ids)).values(*GATE_CONTACT_FIELDS)
    contacts = {row["id"]: row for row in rows}
    identities = contact_identities(merchant=merchant, contact_ids=list(contacts))
    return consent_gate_rows(
        merchant=merchant, channel=channel, contact_ids=ids, contacts=contacts, identities=identities, purpose=purpose
    )


def marketing_refusal(*, merchant: Merchant, channel: str, contact_id: int) -> str | None:
    """`consent_gate` for one contact and marketing: None = marketing may go out on this channel.

    The single-message senders (agent, API, automated replies) ask this; campaigns ask `consent_gate_rows`
    for a whole batch. Both are the same rule.
    """
    return consent_gate(merchant=merchant, channel=channel, contact_ids=[contact_id], purpose=Purpose.MARKETING)[
        contact_id
    ]


def consent_gate_rows(
    *,
    merchant: Merchant,
    channel: str,
    contact_ids: list[int],
    contacts: dict[int, dict],
    identities: dict[int, list[tuple[str, str]]],
    purpose: str = "marketing",
) -> dict[int, str | None]:
    """`consent_gate` for a caller that has already read (and locked) the contacts and their identities.

    `contacts` must hold only this merchant's contacts, each with GATE_CONTACT_FIELDS; an id missing
    from it answers "no_identity".
    """
    states = dict(
        ConsentState.objects.for_merchant(merchant)
        .filter(column_in(ConsentState, "contact_id", list(contacts)), channel=channel, purpose=purpose)
        .values_list("contact_id", "status")
    )
    living = {cid: c for cid, c in contacts.items() if not c["erased_at"] and not c["merged_into_id"]}
    suppressed = _suppressed_after(merchant, living, identities)
    answer: dict[int, str | None] = {}
    for cid in contact_ids:
        contact = contacts.get(cid)
        status = states.get(cid, ConsentStatus.NONE)
        if contact is None or contact["merged_into_id"]:
            answer[cid] = "no_identity"
        elif contact["erased_at"]:
            answer[cid] = "erased"
        elif not _reachable(channel, contact, identities.get(cid, [])):
            answer[cid] = "no_identity"
        elif cid in suppressed and not _granted_since(merchant, cid, channel, purpose, suppressed[cid]):
            answer[cid] = "suppressed"
        elif status != ConsentStatus.GRANTED:
            answer[cid] = STATUS_REASON[status]
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
