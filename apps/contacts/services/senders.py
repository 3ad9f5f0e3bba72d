"""The contacts behind many senders at once: one webhook batch, a fixed number of queries.

`contact_resolve_identities` answers for one person and stays the reference: here the common cases (every
id known; every id new, with no contact holding its number) are read and created in bulk, and any other
sender (partly known ids, a number an existing contact holds, a lost race) goes through it one by one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest, Least

from apps.contacts.models import Contact, ContactIdentity, IdentityKind
from apps.contacts.services.contacts import contact_resolve_identities, identity_normalize, phone_parse
from apps.merchants.models import Merchant

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sender:
    identities: Sequence[tuple[str, str]]
    name: str = ""


def contacts_resolve_many(*, merchant: Merchant, senders: Sequence[Sender]) -> list[Contact | ValidationError]:
    """For each sender, its contact (created on first contact) or the ValidationError its ids raise. Nobody is
    touched: `contacts_touch_many` does that once the caller holds its conversation locks."""
    pairs = [_pairs(sender) for sender in senders]
    known = _known(merchant, [p for ps in pairs if not isinstance(ps, ValidationError) for p in ps])
    out: list[Contact | ValidationError | None] = [ps if isinstance(ps, ValidationError) else None for ps in pairs]
    new: dict[Pairs, list[int]] = {}
    slow: list[int] = []
    for index, ps in enumerate(pairs):
        if isinstance(ps, ValidationError):
            continue
        hits = [known[p] for p in ps if p in known]
        if len(hits) == len(ps):
            out[index] = hits[0].contact
        elif hits:
            slow.append(index)
        else:
            new.setdefault(ps, []).append(index)
    slow += _create_new(merchant, new, senders, out)
    for index in sorted(slow):
        try:
            out[index] = contact_resolve_identities(
                merchant=merchant, identities=pairs[index], name=senders[index].name, touch=False
            )
        except ValidationError as exc:
            out[index] = exc
    return out  # type: ignore[return-value]


def _pairs(sender: Sender) -> Pairs | ValidationError:
    try:
        pairs = tuple(dict.fromkeys((kind, identity_normalize(kind, value)) for kind, value in sender.identities))
    except ValidationError as exc:
        return exc
    return pairs or ValidationError({"external_id": ["Give at least one identity."]})


def _known(merchant: Merchant, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], ContactIdentity]:
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = (
        ContactIdentity.objects.for_merchant(merchant)
        .filter(external_id__in={value for _, value in wanted}, kind__in={kind for kind, _ in wanted})
        .select_related("contact")
    )
    return {(row.kind, row.external_id): row for row in rows if (row.kind, row.external_id) in wanted}


def _create_new(merchant: Merchant, new: dict[Pairs, list[int]], senders: Sequence[Sender], out: list) -> list[int]:
    """Create the people met for the first time, in bulk; the indexes left for the one-by-one path."""
    shared = Counter(pair for ps in new for pair in ps)
    numbers = {ps: _number_of(ps, merchant) for ps in new}
    phones = {ps: phone for ps, (phone, _) in numbers.items()}
    phone_count = Counter(phone for phone in phones.values() if phone)
    held = set(
        Contact.objects.for_merchant(merchant).filter(phone__in=list(phone_count)).values_list("phone", flat=True)
    )
    slow = [
        i
        for ps, idxs in list(new.items())
        if any(shared[p] > 1 for p in ps) or phone_count[phones[ps]] > 1 or phones[ps] in held
        for i in new.pop(ps)
    ]
    if not new:
        return slow
    contacts = {ps: _new_contact(merchant, numbers[ps], senders[idxs[0]].name) for ps, idxs in new.items()}
    try:
        with transaction.atomic():
            Contact.objects.bulk_create(list(contacts.values()))
            ContactIdentity.objects.bulk_create(
                ContactIdentity(merchant=merchant, contact=contact, kind=kind, external_id=value)
                for ps, contact in contacts.items()
                for kind, value in ps
            )
    except IntegrityError:  # a concurrent batch created one of them: the one-by-one path reads it
        return slow + [i for idxs in new.values() for i in idxs]
    for ps, idxs in new.items():
        for index in idxs:
            out[index] = contacts[ps]
    return slow


def _number_of(pairs: Pairs, merchant: Merchant) -> tuple[str, str]:
    """(E.164 phone, its single time zone) of the sender's wa_id, read once; ("", "") when it has none or it is
    no valid number (an inbound message is never refused for it)."""
    wa_id = dict(pairs).get(IdentityKind.WHATSAPP)
    if not wa_id:
        return "", ""
    try:
        return phone_parse(f"+{wa_id}", region=merchant.setting("default_region"))
    except ValidationError:
        return "", ""


def _new_contact(merchant: Merchant, number: tuple[str, str], name: str) -> Contact:
    phone, zone = number
    return Contact(merchant=merchant, name=name[:200], phone=phone, phone_timezone=zone)


def contacts_touch_many(*, contacts: Sequence[Contact], seen_at: datetime) -> None:
    """`last_seen` forward and `first_seen` set once, for all of them in two queries. The rows are locked in
    id order, so two batches touching the same people never wait on each other in a circle."""
    ids = sorted({contact.pk for contact in contacts})
    if not ids:
        return
    list(Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    at = Value(seen_at)
    Contact.objects.filter(pk__in=ids).update(
        last_seen_at=Greatest(Coalesce(F("last_seen_at"), at), at),
        first_seen_at=Least(Coalesce(F("first_seen_at"), at), at),
    )
    for contact in contacts:
        contact.last_seen_at = max(contact.last_seen_at or seen_at, seen_at)
        contact.first_seen_at = min(contact.first_seen_at or seen_at, seen_at)
