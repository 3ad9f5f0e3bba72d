"""Merge two contacts of a merchant into one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.contacts import privacy_hooks
from apps.contacts.models import ConsentState, Contact, ContactIdentity
from apps.contacts.services.contacts import phone_single_timezone
from apps.core.tenancy import ensure_same_merchant

MERGED_PROFILE_FIELDS = ("name", "phone", "email", "timezone", "locale")


def _check(source: Contact, target: Contact) -> None:
    if source.pk == target.pk:
        raise ValidationError({"source": ["A contact cannot be merged into itself."]})
    ensure_same_merchant(merchant_id=target.merchant_id, source=source)
    for name, contact in (("source", source), ("target", target)):
        if contact.erased_at:
            raise ValidationError({name: ["This contact was erased."]})
        if contact.merged_into_id:
            raise ValidationError({name: [f"This contact was already merged into #{contact.merged_into_id}."]})


def _merge_profile(source: Contact, target: Contact) -> None:
    for name in MERGED_PROFILE_FIELDS:
        if not getattr(target, name) and getattr(source, name):
            setattr(target, name, getattr(source, name))
    target.phone_timezone = phone_single_timezone(target.phone)
    target.tags = list(dict.fromkeys([*target.tags, *source.tags]))
    target.attributes = {**source.attributes, **target.attributes}
    seen_first = [d for d in (source.first_seen_at, target.first_seen_at) if d]
    seen_last = [d for d in (source.last_seen_at, target.last_seen_at) if d]
    target.first_seen_at = min(seen_first) if seen_first else None
    target.last_seen_at = max(seen_last) if seen_last else None


def _merge_consent(source: Contact, target: Contact) -> None:
    """Per channel and purpose, the newer of the two states wins (by when the person acted)."""
    theirs = {
        (s.channel, s.purpose): s for s in ConsentState.objects.filter(contact=target).select_related("last_event")
    }
    for state in ConsentState.objects.filter(contact=source).select_related("last_event"):
        mine = theirs.get((state.channel, state.purpose))
        if mine is None:
            ConsentState.objects.create(
                merchant_id=target.merchant_id, contact=target, channel=state.channel, purpose=state.purpose,
                status=state.status, since=state.since, last_event=state.last_event,
            )  # fmt: skip
        elif state.last_event.occurred_at > mine.last_event.occurred_at:
            mine.status, mine.since, mine.last_event = state.status, state.since, state.last_event
            mine.save(update_fields=["status", "since", "last_event"])
    ConsentState.objects.filter(contact=source).delete()


@transaction.atomic
def contact_merge(*, source: Contact, target: Contact) -> Contact:
    """Fold `source` into `target`: identities, profile gaps, tags, attributes and consent move;
    other apps move their rows through merge hooks; the source stays as a tombstone pointing at
    the target, so its consent events (never moved: the ledger is append-only) remain in the
    target's history."""
    first, second = sorted([source.pk, target.pk])
    locked = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
    source, target = locked[source.pk], locked[target.pk]
    _check(source, target)
    ContactIdentity.objects.filter(contact=source).update(contact=target)
    _merge_profile(source, target)
    Contact.objects.filter(pk=source.pk).update(
        name="", phone="", email="", phone_timezone="", tags=[], attributes={}, merged_into=target,
        updated_at=timezone.now(),
    )  # fmt: skip
    target.save()
    _merge_consent(source, target)
    Contact.objects.filter(merged_into=source).update(merged_into=target)
    for hook in privacy_hooks.merge_hooks():
        hook(source=source, target=target)
    return target
