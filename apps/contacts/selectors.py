"""Reads for contacts and the consent ledger."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from apps.contacts.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    Contact,
    ContactIdentity,
    IdentityKind,
    Purpose,
    Suppression,
)
from apps.contacts.suppression import bare_identifier_pairs
from apps.core import inputs, keyset


def consent_status_subquery(*, channel: str, purpose: str):
    """`Contact.objects.annotate(consent=consent_status_subquery(...))`: the status, "none" when no row.

    Uses the (contact, channel, purpose) unique index: one index probe per contact.
    """
    status = ConsentState.objects.filter(contact=OuterRef("pk"), channel=channel, purpose=purpose).values("status")[:1]
    return Coalesce(Subquery(status, output_field=CharField()), Value(ConsentStatus.NONE.value))


def consent_state_list(*, contact) -> QuerySet[ConsentState]:
    return ConsentState.objects.for_merchant(contact.merchant_id).filter(contact=contact).order_by("channel", "purpose")


# ------------------------------------------------------------------ contacts
def _tag_filter(qs: QuerySet, tag: str) -> QuerySet:
    if connection.vendor == "postgresql":
        return qs.filter(tags__contains=[tag])  # jsonb @> : served by the GIN index
    return qs.filter(tags__icontains=json.dumps(tag))  # the embedded SQLite default has no @>


def _consent_filter(qs: QuerySet, *, channel: str, purpose: str, status: str) -> QuerySet:
    if status == ConsentStatus.NONE:
        has_state = ConsentState.objects.filter(contact=OuterRef("pk"), channel=channel, purpose=purpose)
        return qs.exclude(Exists(has_state.exclude(status=ConsentStatus.NONE)))
    return qs.filter(consent_states__channel=channel, consent_states__purpose=purpose, consent_states__status=status)


def consent_filter_parse(value: str) -> tuple[str, str, str]:
    """ "whatsapp:granted" or "whatsapp:marketing:granted" -> (channel, purpose, status); ValueError when bad."""
    parts = value.split(":")
    if len(parts) == 2:
        parts = [parts[0], Purpose.MARKETING, parts[1]]
    if len(parts) != 3:
        raise ValueError("Use <channel>:<status> or <channel>:<purpose>:<status>, e.g. whatsapp:granted.")
    channel, purpose, status = parts
    for value_, choices, name in ((channel, ConsentChannel, "channel"), (purpose, Purpose, "purpose"),
                                  (status, ConsentStatus, "status")):  # fmt: skip
        if value_ not in choices.values:
            raise ValueError(f"Unknown {name} “{value_}”; choose one of: {', '.join(choices.values)}.")
    return channel, purpose, status


# The API's identity filters: query parameter -> identity kind.
IDENTITY_FILTERS = (
    ("whatsapp_id", IdentityKind.WHATSAPP),
    ("whatsapp_user_id", IdentityKind.WHATSAPP_USER),
    ("messenger_psid", IdentityKind.MESSENGER),
)

CONTACT_FILTER_PARAMS = ("q", "tag", "consent", "channel", "phone", "email", *(name for name, _ in IDENTITY_FILTERS))


def contact_filters_parse(*, params: Mapping[str, str]) -> dict:
    """The list's filters from a query string, as `contact_list` keywords: the one parser of the portal's list,
    the API's list and both CSV exports, so an export holds exactly the rows the list shows.

    ValidationError naming the parameter when a value is not one the list knows.
    """
    consent = None
    if params.get("consent"):
        try:
            consent = consent_filter_parse(params["consent"])
        except ValueError as exc:
            raise ValidationError({"consent": [str(exc)]}) from None
    channel = params.get("channel", "")
    if channel and channel not in IdentityKind.values:
        raise ValidationError({"channel": [f"Choose one of: {', '.join(IdentityKind.values)}."]})
    return {
        "q": params.get("q", ""), "tag": params.get("tag", "").strip(), "consent": consent, "channel": channel,
        "phone": params.get("phone", ""), "email": params.get("email", ""),
        "identities": {kind: params[name] for name, kind in IDENTITY_FILTERS if params.get(name)},
    }  # fmt: skip


def contact_list(
    *,
    merchant,
    q: str = "",
    tag: str = "",
    consent: tuple[str, str, str] | None = None,
    channel: str = "",
    phone: str = "",
    email: str = "",
    identities: dict[str, str] | None = None,
) -> QuerySet[Contact]:
    """Live (not erased, not merged) contacts, newest first, with identities prefetched.

    Every filter is served by an index: phone (unique), e-mail, identity (unique), tags (GIN),
    consent (audience index). A free-text `q` that is a phone or an e-mail becomes an exact
    match; other text searches names.
    """
    qs = Contact.objects.for_merchant(merchant).filter(erased_at=None, merged_into=None)
    qs = qs.prefetch_related(Prefetch("identities", queryset=ContactIdentity.objects.order_by("id")))
    if phone:
        qs = qs.filter(phone=_phone_or_raw(phone))
    if email:
        qs = qs.filter(email__iexact=email.strip())
    for kind, external_id in (identities or {}).items():
        qs = qs.filter(identities__kind=kind, identities__external_id=external_id.strip().lstrip("+"))
    if tag:
        qs = _tag_filter(qs, tag)
    if consent:
        qs = _consent_filter(qs, channel=consent[0], purpose=consent[1], status=consent[2])
    if channel:
        qs = qs.filter(Exists(ContactIdentity.objects.filter(contact=OuterRef("pk"), kind=channel)))
    if q:
        qs = _search(qs, q.strip())
    return qs.order_by("-id")


ExportRow = tuple[Contact, dict[str, str], dict[tuple[str, str], ConsentState]]


def contact_chunks(*, contacts: QuerySet[Contact], size: int, consent: bool) -> Iterator[list[ExportRow]]:
    """`contact_list`'s rows in chunks of `size`, newest first, read by keyset (id below the last one seen), each
    contact with its identities (kind -> first id) and, with `consent`, its states ((channel, purpose) -> state).

    A chunk is one query, one for its identities and one for its states, so a million rows never sit in memory
    at once and no query grows with the offset. Plain dicts, not prefetch_related: Django's prefetch builds a
    queryset per contact, most of the export's time at a million rows.
    """
    contacts = contacts.prefetch_related(None)
    last_id = None
    while True:
        page = contacts if last_id is None else contacts.filter(pk__lt=last_id)
        chunk = list(page.order_by("-id")[:size])
        if chunk:
            yield _with_links(chunk, consent=consent)
        if len(chunk) < size:
            return
        last_id = chunk[-1].pk


def _with_links(chunk: list[Contact], *, consent: bool) -> list[ExportRow]:
    ids = [contact.pk for contact in chunk]
    identities: dict[int, dict[str, str]] = {pk: {} for pk in ids}
    rows = ContactIdentity.objects.filter(contact_id__in=ids).order_by("id")
    for contact_id, kind, external_id in rows.values_list("contact_id", "kind", "external_id"):
        identities[contact_id].setdefault(kind, external_id)
    states: dict[int, dict] = {pk: {} for pk in ids}
    if consent:
        for state in ConsentState.objects.filter(contact_id__in=ids):
            states[state.contact_id][(state.channel, state.purpose)] = state
    return [(contact, identities[contact.pk], states[contact.pk]) for contact in chunk]


def _phone_or_raw(value: str) -> str:
    from apps.contacts.services.contacts import phone_normalize

    try:
        return phone_normalize(value)
    except ValidationError:
        return value.strip()


def _search(qs: QuerySet, q: str) -> QuerySet:
    if "@" in q:
        return qs.filter(email__iexact=q)
    digits = q.replace(" ", "").replace("-", "")
    if digits.startswith("+") or inputs.is_ascii_digits(digits):
        return qs.filter(phone=_phone_or_raw(q if q.startswith("+") else f"+{digits}"))
    return qs.filter(name__icontains=q)


def consent_event_list(*, contact) -> QuerySet[ConsentEvent]:
    """The contact's whole ledger, including contacts merged into it, newest first."""
    # The ids first: `contact = x OR contact IN (subquery)` cannot walk the (contact, occurred_at, id) index in
    # order and sorts the whole ledger; `contact = x` (no one merged in, nearly always) walks it.
    family = [contact.pk, *Contact.objects.filter(merged_into=contact).values_list("pk", flat=True)]
    events = ConsentEvent.objects.for_merchant(contact.merchant_id)
    events = events.filter(contact_id=contact.pk) if len(family) == 1 else events.filter(contact_id__in=family)
    return events.select_related("actor").order_by("-occurred_at", "-id")


LEDGER_ORDER = ("occurred_at", "id")  # descending: the contact page's ledger, on consent_event_contact_time


@dataclass(frozen=True)
class LedgerPage:
    items: list[ConsentEvent]
    next_cursor: str | None  # pass back as `before` for older events; None at the beginning of the ledger


def consent_event_page(*, contact, before: str | None = None, limit: int = 50) -> LedgerPage:
    """A page of the contact's ledger, newest first, older than the `before` cursor (keyset.CursorInvalid
    when it is not ours). One query at any depth."""
    qs = consent_event_list(contact=contact)
    if before:
        _tag, position = keyset.cursor_decode(cursor=before, model=ConsentEvent, fields=LEDGER_ORDER)
        qs = qs.filter(keyset.keyset_after(LEDGER_ORDER, position, descending=True))
    rows = list(qs[: limit + 1])
    items = rows[:limit]
    more = len(rows) > limit
    cursor = keyset.cursor_encode(row=items[-1], fields=LEDGER_ORDER) if more else None
    return LedgerPage(items=items, next_cursor=cursor)


def consent_state_grid(*, contact) -> list[dict]:
    """Every channel x purpose with its state ("none" where nothing was ever recorded)."""
    states = {(s.channel, s.purpose): s for s in consent_state_list(contact=contact)}
    return [
        {
            "channel": channel, "channel_label": channel_label, "purpose": purpose, "purpose_label": purpose_label,
            "status": states[(channel, purpose)].status if (channel, purpose) in states else ConsentStatus.NONE,
            "since": states[(channel, purpose)].since if (channel, purpose) in states else None,
        }
        for channel, channel_label in ConsentChannel.choices
        for purpose, purpose_label in Purpose.choices
    ]  # fmt: skip


def dashboard_cards(*, merchant) -> list:
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from apps.core.roles import Capability
    from apps.core.selectors import DashboardCard

    week_ago = timezone.now() - timedelta(days=7)
    recent = ConsentEvent.objects.for_merchant(merchant).filter(recorded_at__gte=week_ago)
    opt_outs = recent.filter(action="revoke").count()
    url = reverse("contacts:list")
    return [
        DashboardCard(
            title="Opt-outs in the last 7 days", value=str(opt_outs), url=url, capability=Capability.CONTACTS_VIEW
        ),
    ]


# ------------------------------------------------------------------ erased people
def identifiers_held(*, merchant_id: int, values: Iterable[str]) -> set[str]:
    """The values a live contact holds, as a channel id or (a number) as its phone."""
    values = {value for value in values if value}
    held = set(
        ContactIdentity.objects.for_merchant(merchant_id)
        .filter(external_id__in=values)
        .values_list("external_id", flat=True)
    )
    phones = Contact.objects.for_merchant(merchant_id).filter(
        phone__in=[f"+{v}" for v in values if inputs.is_ascii_digits(v)]
    )
    return held | {phone.lstrip("+") for phone in phones.values_list("phone", flat=True)}


def erased_identifiers(*, merchant_id: int, values: Iterable[str]) -> set[str]:
    """The values (met in a webhook, without their kind) that name an erased person: suppressed, and held by
    no live contact (someone who came back, by writing again or by import, holds them again)."""
    hashes = {value_hash: value for value in values if value for _, value_hash in bare_identifier_pairs(value)}
    if not hashes:
        return set()
    suppressed = Suppression.objects.for_merchant(merchant_id).filter(value_hash__in=hashes)
    candidates = {hashes[value_hash] for value_hash in suppressed.values_list("value_hash", flat=True)}
    if not candidates:
        return set()
    return candidates - identifiers_held(merchant_id=merchant_id, values=candidates)


def person_erased(*, merchant_id: int, values: Iterable[str]) -> bool:
    """These ids (one person's wa_id and user id) belong to someone erased whom no live contact stands for:
    whatever Meta reports about them must not bring them back as a contact."""
    values = {value for value in values if value}
    if not erased_identifiers(merchant_id=merchant_id, values=values):
        return False
    return not identifiers_held(merchant_id=merchant_id, values=values)
