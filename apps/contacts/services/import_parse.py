"""CSV import, step one: decode the file, check the mapping, parse and validate every row.

Consent comes only from explicit columns carrying evidence (action, date, wording, how it was
collected); it is never inferred from a contact being in the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.contacts.models import ConsentAction, ConsentChannel, Contact, IdentityKind, Purpose
from apps.contacts.services.contacts import (
    attribute_definitions,
    contact_clean_fields,
    identity_normalize,
    phone_parse,
    phone_single_timezone,
)
from apps.core import inputs
from apps.core.csv_export import cell_read
from apps.merchants.models import Merchant

MAX_ROWS = 200_000
MAX_BYTES = 50 * 1024 * 1024
MAX_REPORTED_ERRORS = 200
# The mapping page shows one row per column: a file of thousands of columns (or of huge header cells)
# would make a page of megabytes. No real contact list comes near these.
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 200
PROFILE_TARGETS = ("name", "phone", "email", "timezone", "locale", "tags")
IDENTITY_TARGETS = {"whatsapp_id": IdentityKind.WHATSAPP, "messenger_psid": IdentityKind.MESSENGER}
CONSENT_TARGETS = (
    "consent_channel", "consent_purpose", "consent_action", "consent_date", "consent_wording",
    "consent_source", "consent_evidence_url",
)  # fmt: skip
GRANT_WORDS = {"grant", "granted", "yes", "y", "true", "1", "opt-in", "optin", "si", "sí"}
REVOKE_WORDS = {"revoke", "revoked", "no", "n", "false", "0", "opt-out", "optout"}
SYNONYMS = {
    "full name": "name", "nombre": "name", "mobile": "phone", "telephone": "phone", "tel": "phone",
    "telefono": "phone", "teléfono": "phone", "phone number": "phone", "e-mail": "email", "mail": "email",
    "correo": "email", "wa_id": "whatsapp_id", "whatsapp": "whatsapp_id", "psid": "messenger_psid",
    "language": "locale", "idioma": "locale", "time zone": "timezone", "etiquetas": "tags",
}  # fmt: skip


def import_targets(*, merchant: Merchant) -> list[str]:
    attrs = [f"attr:{key}" for key in attribute_definitions(merchant=merchant)]
    return [*PROFILE_TARGETS, *IDENTITY_TARGETS, *attrs, *CONSENT_TARGETS]


def import_guess_mapping(*, merchant: Merchant, headers: list[str]) -> dict[str, str]:
    """A first mapping from the header names; the person confirms or changes it in the preview."""
    targets = set(import_targets(merchant=merchant))
    guessed = {}
    for header in headers:
        key = header.strip().lower()
        target = key if key in targets else SYNONYMS.get(key) or (f"attr:{key}" if f"attr:{key}" in targets else "")
        if target and target not in guessed.values():
            guessed[header] = target
    return guessed


# ------------------------------------------------------------------ parsing
# Longest first: UTF-32 LE's mark starts with UTF-16 LE's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)  # fmt: skip


def csv_decode(data: bytes | str) -> str:
    """The file's text: the encoding its byte-order mark names, else UTF-8, else Windows-1252."""
    if isinstance(data, bytes) and len(data) > MAX_BYTES:
        raise ValidationError({"file": [f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."]})
    text = data if isinstance(data, str) else _decode(data)
    problem = inputs.text_problem(text)
    if problem:
        raise ValidationError({"file": [f"The file is not CSV text. {problem}"]})
    return text


def _decode(data: bytes) -> str:
    marked = next((encoding for bom, encoding in BOMS if data.startswith(bom)), None)
    if marked:
        try:
            return data.decode(marked)
        except UnicodeDecodeError:
            message = f"The file starts with a {marked.upper()} byte-order mark but is not {marked.upper()} text."
            raise ValidationError({"file": [message]}) from None
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": ["The file is not UTF-8 (or Windows-1252) text."]})


def csv_headers(text: str) -> list[str]:
    try:
        headers = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
    except csv.Error as exc:
        raise ValidationError({"file": [f"Not a readable CSV file: {exc}."]}) from None
    if len(headers) > MAX_COLUMNS:
        message = f"The file has {len(headers)} columns; at most {MAX_COLUMNS} can be imported."
        raise ValidationError({"file": [message]})
    if any(len(header) > MAX_HEADER_CHARS for header in headers):
        raise ValidationError({"file": [f"A column name is longer than {MAX_HEADER_CHARS} characters."]})
    return headers


@dataclass
class Row:
    line: int
    profile: dict
    identities: dict  # kind -> external id
    consent: dict | None
    contact: Contact | None = None
    phone_tz: str = ""


def import_check_mapping(merchant: Merchant, headers: list[str], mapping: dict, defaults: dict) -> None:
    errors: dict[str, list[str]] = {}
    targets = set(import_targets(merchant=merchant))
    for column, target in mapping.items():
        if column not in headers:
            errors.setdefault("mapping", []).append(f"Column “{column}” is not in the file's header.")
        elif target and target not in targets:
            errors.setdefault("mapping", []).append(f"“{target}” is not an import field (column “{column}”).")
    used = [t for t in mapping.values() if t]
    for target in {t for t in used if used.count(t) > 1}:
        errors.setdefault("mapping", []).append(f"Two columns are mapped to “{target}”.")
    if not {"phone", "email", "whatsapp_id", "messenger_psid"} & set(used):
        errors.setdefault("mapping", []).append("Map at least one of phone, email, whatsapp_id, messenger_psid.")
    for key, value in (defaults or {}).items():
        choices = {"consent_channel": ConsentChannel, "consent_purpose": Purpose}.get(key)
        if choices is None or value not in choices.values:
            errors.setdefault("defaults", []).append(f"“{key}={value}” is not a valid default.")
    if errors:
        raise ValidationError(errors)


def _parse_consent(values: dict, defaults: dict, tz) -> dict | None:
    raw = {k: (values.get(k) or "").strip() for k in CONSENT_TARGETS}
    if not any(raw[k] for k in ("consent_action", "consent_date", "consent_wording", "consent_source")):
        return None
    problems = []
    action = raw["consent_action"].lower()
    action = ConsentAction.GRANT if action in GRANT_WORDS else ConsentAction.REVOKE if action in REVOKE_WORDS else ""
    if not action:
        problems.append("consent_action: say grant or revoke")
    channel = raw["consent_channel"].lower() or defaults.get("consent_channel", "")
    purpose = raw["consent_purpose"].lower() or defaults.get("consent_purpose", Purpose.MARKETING)
    if channel not in ConsentChannel.values:
        problems.append(f"consent_channel: choose one of {', '.join(ConsentChannel.values)}")
    if purpose not in Purpose.values:
        problems.append(f"consent_purpose: choose one of {', '.join(Purpose.values)}")
    occurred_at = _parse_when(raw["consent_date"], tz)
    if occurred_at is None:
        problems.append("consent_date: give the date the person agreed, e.g. 2026-03-03 or 2026-03-03T14:02:00Z")
    elif occurred_at > timezone.now():
        problems.append("consent_date: is in the future")
    if not raw["consent_wording"]:
        problems.append("consent_wording: give the exact wording the person agreed to")
    if not raw["consent_source"]:
        problems.append("consent_source: say how the consent was collected (e.g. shop paper form)")
    if raw["consent_evidence_url"] and not raw["consent_evidence_url"].startswith(("http://", "https://")):
        problems.append("consent_evidence_url: give an http(s) URL")
    if problems:
        raise ValidationError(problems)
    return {
        "channel": channel, "purpose": purpose, "action": action, "occurred_at": occurred_at,
        "wording": raw["consent_wording"], "collected_via": raw["consent_source"][:200],
        "evidence_url": raw["consent_evidence_url"],
    }  # fmt: skip


def _parse_when(value: str, tz) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time(0, 0)) if day else None
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, tz)
    return moment


def _parse_row(line: int, values: dict, *, merchant: Merchant, definitions: dict, defaults: dict) -> Row:
    problems: list[str] = []
    profile_data = {k: values[k] for k in PROFILE_TARGETS if values.get(k, "") not in ("",)}
    attrs = {k[5:]: v for k, v in values.items() if k.startswith("attr:") and v != ""}
    if attrs:
        profile_data["attributes"] = attrs
    profile, phone_tz = {}, ""
    raw_phone = profile_data.pop("phone", "")
    try:
        profile = contact_clean_fields(merchant=merchant, data=profile_data, definitions=definitions)
    except ValidationError as exc:
        problems += [f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items()]
    try:
        phone, phone_tz = phone_parse(raw_phone, region=merchant.setting("default_region"))
        if phone:
            profile["phone"] = phone
    except ValidationError as exc:
        problems.append(f"phone: {' '.join(exc.messages)}")
    identities = {}
    for target, kind in IDENTITY_TARGETS.items():
        if values.get(target):
            try:
                identities[kind] = identity_normalize(kind, values[target])
            except ValidationError as exc:
                problems += [f"{target}: {' '.join(msgs)}" for msgs in exc.message_dict.values()]
    consent = None
    try:
        consent = _parse_consent(values, defaults, merchant.tz)
    except ValidationError as exc:
        problems += exc.messages
    if not problems and not (profile.get("phone") or profile.get("email") or identities):
        problems.append("the row has no phone, email, whatsapp_id or messenger_psid")
    if problems:
        raise ValidationError(problems)
    if IdentityKind.WHATSAPP in identities and not profile.get("phone"):
        profile["phone"] = f"+{identities[IdentityKind.WHATSAPP]}"
        phone_tz = phone_single_timezone(profile["phone"])
    return Row(line=line, profile=profile, identities=identities, consent=consent, phone_tz=phone_tz)


def import_parse_rows(text: str, *, merchant: Merchant, mapping: dict, defaults: dict) -> tuple[list[Row], list[dict]]:
    definitions = attribute_definitions(merchant=merchant)
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
    rows, errors = [], []
    try:
        for values in reader:
            line = reader.line_num
            if len(rows) + len(errors) >= MAX_ROWS:
                errors.append({"line": line, "errors": [f"the file has more than {MAX_ROWS} rows"]})
                break
            if not any((v or "").strip() for v in values.values() if isinstance(v, str)):
                continue  # blank line
            mapped = {t: cell_read((values.get(c) or "").strip()) for c, t in mapping.items() if t}
            try:
                rows.append(_parse_row(line, mapped, merchant=merchant, definitions=definitions, defaults=defaults))
            except ValidationError as exc:
                errors.append({"line": line, "errors": exc.messages})
    except csv.Error as exc:
        errors.append({"line": reader.line_num, "errors": [f"unreadable CSV: {exc}"]})
    return rows, errors
