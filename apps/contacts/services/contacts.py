"""Writes for contacts and their channel identities."""

from __future__ import annotations

import logging
import math
import re
import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime

import phonenumbers
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from phonenumbers import timezone as phone_timezones

from apps.contacts.models import (
    AttributeDefinition,
    AttributeType,
    Contact,
    ContactIdentity,
    IdentityKind,
)
from apps.core import inputs
from apps.merchants.models import Merchant, validate_locale

# Meta's format: ISO country, ENT. for a parent id shared by managed businesses, alphanumerics (the general
# 128-character limit below still applies).
BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
logger = logging.getLogger(__name__)
PROFILE_FIELDS = ("name", "phone", "email", "timezone", "locale", "tags", "attributes")
MAX_TAGS = 50
MAX_TAG_LENGTH = 50


# ------------------------------------------------------------------ field normalisation
def phone_parse(value: str, *, region: str | None = None) -> tuple[str, str]:
    """(E.164, single time zone or "") for a valid number, ("", "") for blank; ValidationError otherwise.

    Numbers without a leading + are read in `region` (the merchant's `default_region` setting).
    """
    value = (value or "").strip()
    if not value:
        return "", ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a phone number in international format, e.g. +34600111222.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"“{value}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), _single_zone(number)


def phone_normalize(value: str, *, region: str | None = None) -> str:
    return phone_parse(value, region=region)[0]


def _single_zone(number) -> str:
    zones = [zone for zone in phone_timezones.time_zones_for_number(number) if zone != "Etc/Unknown"]
    return zones[0] if len(zones) == 1 else ""


def phone_single_timezone(phone: str) -> str:
    """The phone's time zone when its country (or area) has exactly one, else ""."""
    if not phone:
        return ""
    try:
        return _single_zone(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return ""


def contact_timezone(contact: Contact, *, merchant: Merchant | None = None) -> str:
    """Explicit zone, else the phone's single zone, else the merchant's."""
    return contact.timezone or contact.phone_timezone or (merchant or contact.merchant).timezone


def email_normalize(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    validate_email(value)
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def tags_normalize(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValidationError("Give the tags as a list of strings.")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str):
            raise ValidationError("Every tag must be a string.")
        tag = tag.strip()
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError(f"Tags have at most {MAX_TAG_LENGTH} characters.")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"A contact has at most {MAX_TAGS} tags.")
    return tags


def _attribute_value(definition: AttributeDefinition, value):
    if value is None or value == "":
        return None
    kind = definition.type
    if kind == AttributeType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError("must be a number") from None
        if not math.isfinite(number):  # "NaN", "inf", "1e999": floats, but not numbers jsonb can hold
            raise ValidationError("must be a number")
        return int(number) if number.is_integer() else number
    if kind == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "sí", "si"}:
            return True
        if text in {"false", "no", "0"}:
            return False
        raise ValidationError("must be true or false")
    if kind == AttributeType.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValidationError("must be a date as YYYY-MM-DD") from None
    if not isinstance(value, str | int | float):
        raise ValidationError("must be text")
    return str(value)[:1000]


def attributes_normalize(value, *, definitions: dict[str, AttributeDefinition]) -> dict:
    """Values cast to each attribute's declared type; undefined keys are refused."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError("Give the attributes as an object.")
    errors, cleaned = {}, {}
    for key, raw in value.items():
        definition = definitions.get(key)
        if definition is None:
            errors[key] = "is not a defined attribute (add it in contact settings first)"
            continue
        try:
            typed = _attribute_value(definition, raw)
        except ValidationError as exc:
            errors[key] = exc.messages[0]
            continue
        if typed is not None:
            cleaned[key] = typed
    if errors:
        raise ValidationError("; ".join(f"{key} {reason}" for key, reason in errors.items()))
    return cleaned


def attribute_definitions(*, merchant: Merchant) -> dict[str, AttributeDefinition]:
    return {d.key: d for d in AttributeDefinition.objects.for_merchant(merchant)}


def _validate_timezone(value: str) -> str:
    value = (value or "").strip()
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Europe/Madrid).")
    return value


def _validate_locale(value: str) -> str:
    value = (value or "").strip()
    if value:
        validate_locale(value)
    return value


def contact_clean_fields(*, merchant: Merchant, data: dict, definitions=None) -> dict:
    """Validated, normalised profile fields; ValidationError naming every bad field."""
    cleaners = {
        "name": lambda v: (v or "").strip()[:200],
        "phone": lambda v: phone_normalize(v, region=merchant.setting("default_region")),
        "email": email_normalize,
        "timezone": _validate_timezone,
        "locale": _validate_locale,
        "tags": tags_normalize,
        "attributes": lambda v: attributes_normalize(
            v, definitions=definitions if definitions is not None else attribute_definitions(merchant=merchant)
        ),
    }
    cleaned, errors = {}, {}
    for name, value in data.items():
        if name not in cleaners:
            errors[name] = ["This field cannot be set."]
            continue
        try:
            cleaned[name] = cleaners[name](value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def _phone_taken(merchant: Merchant, phone: str, exclude_pk: int | None = None) -> bool:
    qs = Contact.objects.for_merchant(merchant).filter(phone=phone)
    return bool(phone) and qs.exclude(pk=exclude_pk).exists()


DUPLICATE_PHONE = "A contact with this phone number already exists."


def _save_or_duplicate(contact: Contact, **kwargs) -> None:
    try:
        with transaction.atomic():
            contact.save(**kwargs)
    except IntegrityError:
        raise ValidationError({"phone": [DUPLICATE_PHONE]}) from None


# ------------------------------------------------------------------ contacts
IDENTITY_FIELDS = {"whatsapp_id": IdentityKind.WHATSAPP, "messenger_psid": IdentityKind.MESSENGER}


def _split_identities(fields: dict) -> tuple[dict, dict]:
    identities = {kind: fields.pop(name) for name, kind in IDENTITY_FIELDS.items() if name in fields}
    return fields, identities


def _set_identities(contact: Contact, identities: dict) -> None:
    errors = {}
    for kind, value in identities.items():
        try:
            contact_identity_set(contact=contact, kind=kind, external_id=value or "")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


EMPTY_CONTACT = "Give the contact a name, a phone number or an e-mail address."


def _refuse_empty(contact: Contact, *, has_identity) -> None:
    # A row nobody can recognise or reach is noise in every list ("(no name)"); an identity alone
    # (a Messenger id) is reachable, so it is enough. `has_identity` is only asked when it matters.
    if not (contact.name.strip() or contact.phone or contact.email or has_identity()):
        raise ValidationError({NON_FIELD_ERRORS: [EMPTY_CONTACT]})


@transaction.atomic
def contact_create(*, merchant: Merchant, **fields) -> Contact:
    """A new contact; `whatsapp_id` / `messenger_psid` become identities (a WhatsApp id alone sets the phone)."""
    fields, identities = _split_identities(dict(fields))
    if identities.get(IdentityKind.WHATSAPP) and not fields.get("phone"):
        fields["phone"] = "+" + str(identities[IdentityKind.WHATSAPP]).strip().lstrip("+")
    cleaned = contact_clean_fields(merchant=merchant, data=fields)
    if _phone_taken(merchant, cleaned.get("phone", "")):
        raise ValidationError({"phone": [DUPLICATE_PHONE]})
    contact = Contact(merchant=merchant, **cleaned)
    _refuse_empty(contact, has_identity=lambda: any(identities.values()))
    contact.phone_timezone = phone_single_timezone(contact.phone)
    _save_or_duplicate(contact)
    _set_identities(contact, identities)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, **fields) -> Contact:
    """Change profile fields and channel ids (agents may); consent has its own service."""
    if contact.erased_at or contact.merged_into_id:
        raise ValidationError({"contact": ["This contact was erased or merged and cannot be edited."]})
    fields, identities = _split_identities(dict(fields))
    cleaned = contact_clean_fields(merchant=contact.merchant, data=fields)
    if "phone" in cleaned and _phone_taken(contact.merchant, cleaned["phone"], exclude_pk=contact.pk):
        raise ValidationError({"phone": [DUPLICATE_PHONE]})
    for name, value in cleaned.items():
        setattr(contact, name, value)
    _refuse_empty(contact, has_identity=lambda: any(identities.values()) or contact.identities.exists())
    update_fields = [*cleaned, "updated_at"]
    if "phone" in cleaned:
        contact.phone_timezone = phone_single_timezone(contact.phone)
        update_fields.append("phone_timezone")
    _save_or_duplicate(contact, update_fields=update_fields)
    _set_identities(contact, identities)
    return contact


# ------------------------------------------------------------------ identities
def identity_normalize(kind: str, external_id: str) -> str:
    if kind not in IdentityKind.values:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(IdentityKind.values)}."]})
    value = (external_id or "").strip()
    if kind == IdentityKind.WHATSAPP:
        value = value.lstrip("+")
        if not inputs.is_ascii_digits(value) or not 6 <= len(value) <= 20:
            raise ValidationError({"whatsapp_id": ["A WhatsApp id is the number's digits, e.g. 34600111222."]})
    if kind == IdentityKind.WHATSAPP_USER and not BSUID.fullmatch(value):
        raise ValidationError({"whatsapp_user_id": ["A business-scoped user id looks like US.13491208655302741918."]})
    if not value or len(value) > 128:
        raise ValidationError({"external_id": ["Give an id of 1 to 128 characters."]})
    return value


def contact_identity_set(*, contact: Contact, kind: str, external_id: str) -> ContactIdentity | None:
    """Give the contact this identity (replacing its previous one of that kind); "" removes it."""
    existing = ContactIdentity.objects.for_merchant(contact.merchant_id).filter(contact=contact, kind=kind)
    if not (external_id or "").strip():
        existing.delete()
        return None
    value = identity_normalize(kind, external_id)
    field = {"whatsapp": "whatsapp_id", "messenger": "messenger_psid"}.get(kind, "external_id")
    owner = ContactIdentity.objects.for_merchant(contact.merchant_id).filter(kind=kind, external_id=value).first()
    if owner and owner.contact_id != contact.pk:
        raise ValidationError({field: [f"Another contact (#{owner.contact_id}) already has this {kind} id."]})
    if owner:
        return owner
    existing.delete()
    try:
        with transaction.atomic():
            return ContactIdentity.objects.create(
                merchant_id=contact.merchant_id, contact=contact, kind=kind, external_id=value
            )
    except IntegrityError:
        raise ValidationError({field: [f"Another contact already has this {kind} id."]}) from None


def _touch(contact: Contact, seen_at: datetime) -> None:
    """Move last_seen forward (never back) and set first_seen once, without a read-modify-write race."""
    qs = Contact.objects.filter(pk=contact.pk)
    qs.filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=seen_at)).update(last_seen_at=seen_at)
    qs.filter(Q(first_seen_at__isnull=True) | Q(first_seen_at__gt=seen_at)).update(first_seen_at=seen_at)
    if contact.last_seen_at is None or contact.last_seen_at < seen_at:
        contact.last_seen_at = seen_at
    if contact.first_seen_at is None or contact.first_seen_at > seen_at:
        contact.first_seen_at = seen_at


def _safe_phone(phone: str, merchant: Merchant) -> str:
    try:
        return phone_normalize(phone, region=merchant.setting("default_region"))
    except ValidationError:
        return ""  # an inbound message is never refused because of a malformed phone


def _create_with_identity(*, merchant: Merchant, kind: str, external_id: str, name: str, phone: str) -> Contact:
    contact = Contact.objects.for_merchant(merchant).filter(phone=phone).first() if phone else None
    if contact is None:
        contact = Contact.objects.create(
            merchant=merchant, name=name[:200], phone=phone, phone_timezone=phone_single_timezone(phone)
        )
    elif name and not contact.name:
        contact.name = name[:200]
        contact.save(update_fields=["name", "updated_at"])
    ContactIdentity.objects.create(merchant=merchant, contact=contact, kind=kind, external_id=external_id)
    return contact


def contact_resolve_identity(
    *, merchant: Merchant, kind: str, external_id: str, name: str = "", phone: str = "", seen_at=None
) -> Contact:
    """The contact behind a channel identity, created on first contact (race-safe).

    A WhatsApp identity's contact gets phone "+<wa_id>"; when a contact with that phone already
    exists (e.g. imported), the identity is attached to it instead of creating a duplicate.
    """
    return contact_resolve_identities(
        merchant=merchant, identities=[(kind, external_id)], name=name, phone=phone, seen_at=seen_at
    )


def contact_resolve_identities(
    *,
    merchant: Merchant,
    identities: Sequence[tuple[str, str]],
    name: str = "",
    phone: str = "",
    seen_at=None,
    touch: bool = True,
) -> Contact:
    """The one contact behind several ids of the same person (a WhatsApp wa_id and business-scoped user id).

    The first identity already known decides the contact; the others are linked to it, so a person first
    met by user id alone and later by number too stays one contact. Ids already owned by another contact
    stay there (merging people is a decision for a human: `contact_merge`). `touch=False` leaves `last_seen`
    to the caller, who takes the contact's row lock in its own order (conversation first: DR-81).
    """
    pairs = list(dict.fromkeys((kind, identity_normalize(kind, value)) for kind, value in identities))
    if not pairs:
        raise ValidationError({"external_id": ["Give at least one identity."]})
    seen_at = seen_at or timezone.now()
    wa_id = dict(pairs).get(IdentityKind.WHATSAPP)
    phone = _safe_phone(phone or (f"+{wa_id}" if wa_id else ""), merchant)
    for _attempt in range(3):
        known = _known_identities(merchant, pairs)
        try:
            contact = _resolve_known(merchant, pairs, known, name, phone)
            break
        except IntegrityError:
            continue  # a concurrent request created the identity or the phone: read it on the next pass
    else:
        raise RuntimeError(f"Could not resolve identities {pairs}")
    if touch:
        _touch(contact, seen_at)
    return contact


def _known_identities(merchant: Merchant, pairs: list[tuple[str, str]]) -> list[ContactIdentity]:
    match = Q()
    for kind, value in pairs:
        match |= Q(kind=kind, external_id=value)
    rows = {
        (i.kind, i.external_id): i
        for i in ContactIdentity.objects.for_merchant(merchant).filter(match).select_related("contact")
    }
    return [rows[pair] for pair in pairs if pair in rows]


def _resolve_known(
    merchant: Merchant, pairs: list[tuple[str, str]], known: list[ContactIdentity], name: str, phone: str
) -> Contact:
    owners = sorted({i.contact_id for i in known})
    if len(owners) > 1:  # the ids were met apart before; linking them is a merge, a person's call
        logger.warning("contacts.identities_split", extra={"contact_ids": owners})
    if len(known) == len(pairs):
        return known[0].contact
    taken = {(i.kind, i.external_id) for i in known}
    with transaction.atomic():
        if known:
            contact = known[0].contact
            _phone_fill(contact, phone)
        else:
            kind, value = pairs[0]
            contact = _create_with_identity(merchant=merchant, kind=kind, external_id=value, name=name, phone=phone)
            taken.add(pairs[0])
        for kind, value in pairs:
            if (kind, value) not in taken:
                ContactIdentity.objects.create(merchant=merchant, contact=contact, kind=kind, external_id=value)
    return contact


def _phone_fill(contact: Contact, phone: str) -> None:
    """A contact known only by user id learns its number, unless another contact already has it."""
    if contact.phone or not phone:
        return
    if Contact.objects.for_merchant(contact.merchant_id).filter(phone=phone).exists():
        return
    contact.phone, contact.phone_timezone = phone, phone_single_timezone(phone)
    contact.save(update_fields=["phone", "phone_timezone", "updated_at"])


def contact_identity_move(*, merchant: Merchant, kind: str, old: str, new: str) -> Contact | None:
    """Meta says a person's id changed (a new number, a new user id): the contact keeps its history.

    The old identity takes the new id (and a phone that was "+<old wa_id>" follows it); when the new id
    already belongs to someone, nothing moves. None when the old id is unknown.
    """
    old, new = identity_normalize(kind, old), identity_normalize(kind, new)
    identities = ContactIdentity.objects.for_merchant(merchant).select_related("contact")
    identity = identities.select_for_update().filter(kind=kind, external_id=old).first()
    if identity is None or old == new:
        return identity.contact if identity else None
    owner = identities.filter(kind=kind, external_id=new).first()
    if owner is not None:
        logger.warning("contacts.identity_move_taken", extra={"contact_id": owner.contact_id, "kind": kind})
        return identity.contact
    identity.external_id = new
    identity.save(update_fields=["external_id"])
    contact = identity.contact
    if kind == IdentityKind.WHATSAPP and contact.phone == f"+{old}":
        phone = _safe_phone(f"+{new}", merchant)
        if Contact.objects.for_merchant(merchant).filter(phone=phone).exists():
            phone = ""  # the new number is another contact's: this one keeps no stale number
        contact.phone, contact.phone_timezone = phone, phone_single_timezone(phone)
        contact.save(update_fields=["phone", "phone_timezone", "updated_at"])
    return contact
