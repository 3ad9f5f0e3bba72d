"""CSV import, step two: match rows to existing contacts, then write set-based, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.contacts.models import (
    ConsentEvent,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Contact,
    ContactIdentity,
    ContactImport,
    ContactImportStatus,
    Suppression,
)
from apps.contacts.services.bulk import fast_insert
from apps.contacts.services.consent import consent_late_against, consent_next_status
from apps.contacts.services.import_parse import (
    IDENTITY_TARGETS,
    MAX_REPORTED_ERRORS,
    PROFILE_TARGETS,
    Row,
    csv_decode,
    csv_headers,
    import_check_mapping,
    import_guess_mapping,
    import_parse_rows,
)
from apps.contacts.suppression import contact_identifiers
from apps.merchants.models import Merchant


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    consents: int = 0
    suppressed_matches: int = 0
    errors: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    dry_run: bool = False
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "import_id": self.import_id, "dry_run": self.dry_run, "ok": self.ok, "rows": self.rows,
            "created": self.created, "updated": self.updated, "consents": self.consents,
            "suppressed_matches": self.suppressed_matches, "errors": self.errors, "preview": self.preview,
        }  # fmt: skip


# ------------------------------------------------------------------ matching
def _chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _duplicates_in_file(rows: list[Row]) -> list[dict]:
    seen: dict[tuple, int] = {}
    errors = []
    for row in rows:
        keys = [("phone", row.profile.get("phone"))] + [(k, v) for k, v in row.identities.items()]
        for key in keys:
            if not key[1]:
                continue
            if key in seen:
                errors.append({"line": row.line, "errors": [f"{key[0]}: same as line {seen[key]}"]})
            else:
                seen[key] = row.line
    return errors


def _match_existing(merchant: Merchant, rows: list[Row]) -> list[dict]:
    """Attach each row to the existing contact it names (by phone, channel id, then e-mail)."""
    phones = [r.profile["phone"] for r in rows if r.profile.get("phone")]
    by_phone: dict[str, Contact] = {}
    for chunk in _chunks(phones):
        by_phone.update({c.phone: c for c in Contact.objects.for_merchant(merchant).filter(phone__in=chunk)})
    by_identity: dict[tuple, Contact] = {}
    for kind in IDENTITY_TARGETS.values():
        ids = [r.identities[kind] for r in rows if kind in r.identities]
        for chunk in _chunks(ids):
            qs = ContactIdentity.objects.for_merchant(merchant).filter(kind=kind, external_id__in=chunk)
            by_identity.update({(kind, i.external_id): i.contact for i in qs.select_related("contact")})
    emails = [
        r.profile["email"] for r in rows if r.profile.get("email") and not r.profile.get("phone") and not r.identities
    ]
    by_email: dict[str, Contact] = {}
    for chunk in _chunks(emails):
        qs = Contact.objects.for_merchant(merchant).filter(email__in=chunk, erased_at=None, merged_into=None)
        for contact in qs.order_by("-id"):
            by_email[contact.email] = contact
    errors = []
    for row in rows:
        found = {c.pk: c for c in [by_phone.get(row.profile.get("phone"))] if c}
        found.update({c.pk: c for k, v in row.identities.items() if (c := by_identity.get((k, v)))})
        if len(found) > 1:
            errors.append(
                {"line": row.line, "errors": [f"phone and ids belong to different contacts ({sorted(found)})"]}
            )
        row.contact = next(iter(found.values()), None) or by_email.get(row.profile.get("email"))
    return errors


# ------------------------------------------------------------------ writing
def _apply_profile(contact: Contact, profile: dict, phone_tz: str) -> bool:
    changed = False
    for name, value in profile.items():
        if name == "tags":
            value = list(dict.fromkeys([*contact.tags, *value]))
        elif name == "attributes":
            value = {**contact.attributes, **value}
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if changed and "phone" in profile:
        contact.phone_timezone = phone_tz
    return changed


def _write_contacts(merchant: Merchant, rows: list[Row], report: ImportReport) -> None:
    existing = [r.contact.pk for r in rows if r.contact]
    for chunk in _chunks(existing):
        list(Contact.objects.select_for_update().filter(pk__in=chunk).values_list("pk", flat=True))
    new = [r for r in rows if r.contact is None]
    for row in new:
        row.contact = Contact(merchant=merchant, **row.profile, phone_timezone=row.phone_tz)
    fast_insert(Contact, [r.contact for r in new])
    existing_ids = set(existing)
    changed = [
        r.contact for r in rows if r.contact.pk in existing_ids and _apply_profile(r.contact, r.profile, r.phone_tz)
    ]
    fields = [*PROFILE_TARGETS, "attributes", "phone_timezone", "updated_at"]
    now = timezone.now()
    for contact in changed:
        contact.updated_at = now
    Contact.objects.bulk_update(changed, fields, batch_size=1000)
    known = set()
    for chunk in _chunks(existing):
        known |= set(ContactIdentity.objects.filter(contact_id__in=chunk).values_list("kind", "external_id"))
    identities = [
        ContactIdentity(merchant=merchant, contact=r.contact, kind=kind, external_id=value)
        for r in rows
        for kind, value in r.identities.items()
        if (kind, value) not in known
    ]
    fast_insert(ContactIdentity, identities)
    report.created, report.updated = len(new), len(changed)


def _write_consents(merchant: Merchant, rows: list[Row], imp: ContactImport, actor) -> int:
    rows = [r for r in rows if r.consent]
    states: dict[tuple, ConsentState] = {}
    for chunk in _chunks([r.contact.pk for r in rows]):
        for s in ConsentState.objects.filter(contact_id__in=chunk).select_related("last_event"):
            states[(s.contact_id, s.channel, s.purpose)] = s
    events = []
    for row in rows:
        c = row.consent
        state = states.get((row.contact.pk, c["channel"], c["purpose"]))
        current = state.status if state else ConsentStatus.NONE
        late = state is not None and consent_late_against(
            action=c["action"], occurred_at=c["occurred_at"], source=ConsentSource.IMPORT, last=state.last_event
        )
        resulting = current if late else consent_next_status(current=current, action=c["action"], double_opt_in=False)
        events.append(ConsentEvent(
            merchant=merchant, contact=row.contact, channel=c["channel"], purpose=c["purpose"], action=c["action"],
            source=ConsentSource.IMPORT, collected_via=c["collected_via"], wording=c["wording"],
            evidence_url=c["evidence_url"], actor=actor, actor_label=f"Import #{imp.pk}", resulting_status=resulting,
            occurred_at=c["occurred_at"],
        ))  # fmt: skip
    fast_insert(ConsentEvent, events)
    new_states, changed = {}, {}
    for event in events:
        key = (event.contact_id, event.channel, event.purpose)
        state = states.get(key) or new_states.get(key)
        if state is not None and consent_late_against(
            action=event.action, occurred_at=event.occurred_at, source=event.source, last=state.last_event
        ):
            continue
        if state is None:
            state = new_states[key] = ConsentState(
                merchant=merchant, contact_id=event.contact_id, channel=event.channel, purpose=event.purpose,
                status=event.resulting_status, since=event.occurred_at, last_event=event,
            )  # fmt: skip
        elif state.status != event.resulting_status:
            state.since = event.occurred_at
        state.status, state.last_event = event.resulting_status, event
        if state.pk:
            changed[key] = state
    fast_insert(ConsentState, list(new_states.values()))
    ConsentState.objects.bulk_update(changed.values(), ["status", "since", "last_event"], batch_size=1000)
    return len(events)


def _suppressed_matches(merchant: Merchant, rows: list[Row]) -> int:
    if not Suppression.objects.for_merchant(merchant).exists():
        return 0
    pairs = {
        r.line: contact_identifiers(phone=r.profile.get("phone", ""), email=r.profile.get("email", ""),
                                    identities=list(r.identities.items()))
        for r in rows
    }  # fmt: skip
    hashes = list({h for p in pairs.values() for _, h in p})
    found = set()
    for chunk in _chunks(hashes):
        found |= set(
            Suppression.objects.for_merchant(merchant).filter(value_hash__in=chunk).values_list("value_hash", flat=True)
        )
    return sum(1 for p in pairs.values() if any(h in found for _, h in p))


def _preview_row(row: Row) -> dict:
    consent = {**row.consent, "occurred_at": row.consent["occurred_at"].isoformat()} if row.consent else None
    return {
        "line": row.line,
        "action": "update" if row.contact else "create",
        "contact_id": row.contact.pk if row.contact else None,
        **row.profile,
        **{f"{kind}_id": value for kind, value in row.identities.items()},
        "consent": consent,
    }


def _preview(rows: list[Row], limit: int = 10) -> list[dict]:
    return [_preview_row(row) for row in rows[:limit]]


def contact_import_upload(*, merchant: Merchant, data: bytes | str, filename: str = "", actor=None) -> ContactImport:
    """Store an uploaded CSV (decoded and header-checked) until its mapping is chosen."""
    text = csv_decode(data)
    headers = csv_headers(text)
    if not any(headers):
        raise ValidationError({"file": ["The file is empty or has no header row."]})
    return ContactImport.objects.create(
        merchant=merchant, created_by=actor, filename=filename[:255], csv_text=text,
        mapping=import_guess_mapping(merchant=merchant, headers=headers),
    )  # fmt: skip


def contact_import_run(
    *, contact_import: ContactImport, mapping: dict, defaults: dict | None = None, dry_run: bool = False, actor=None
) -> ImportReport:
    """Validate every row, then (unless dry_run and only when no row has an error) write them all.

    A file with any bad row changes nothing: the report lists each bad line and why.
    """
    imp, merchant, defaults = contact_import, contact_import.merchant, defaults or {}
    if imp.status != ContactImportStatus.UPLOADED:
        raise ValidationError({"import": ["This import was already run; upload the file again."]})
    import_check_mapping(merchant, csv_headers(imp.csv_text), mapping, defaults)
    rows, errors = import_parse_rows(imp.csv_text, merchant=merchant, mapping=mapping, defaults=defaults)
    total = len(rows) + len(errors)
    errors += _duplicates_in_file(rows)
    errors += _match_existing(merchant, rows)
    errors.sort(key=lambda e: e["line"])
    report = ImportReport(rows=total, errors=errors[:MAX_REPORTED_ERRORS], dry_run=dry_run, import_id=imp.pk)
    report.suppressed_matches = _suppressed_matches(merchant, rows)
    report.preview = _preview(rows)
    if errors or dry_run:
        report.created = sum(1 for r in rows if r.contact is None)
        report.updated = sum(1 for r in rows if r.contact is not None)
        report.consents = sum(1 for r in rows if r.consent)
        if errors and not dry_run:
            _finish(imp, ContactImportStatus.FAILED, report, mapping)
        return report
    try:
        with transaction.atomic():
            _write_contacts(merchant, rows, report)
            report.consents = _write_consents(merchant, rows, imp, actor)
            _finish(imp, ContactImportStatus.COMPLETED, report, mapping)
    except IntegrityError:
        # Someone created one of these phones or ids while we wrote: nothing was written.
        report.errors = [{"line": 0, "errors": ["another change to these contacts happened meanwhile; run it again"]}]
        report.created = report.updated = report.consents = 0
    return report


def contact_import_file(
    *,
    merchant: Merchant,
    data: bytes | str,
    filename: str = "",
    mapping: dict,
    defaults: dict | None = None,
    dry_run: bool = False,
    actor=None,
) -> ImportReport:
    """Upload and run in one call (the API's import): a dry run previews and keeps no copy of the file."""
    imp = contact_import_upload(merchant=merchant, data=data, filename=filename, actor=actor)
    report = contact_import_run(contact_import=imp, mapping=mapping, defaults=defaults, dry_run=dry_run, actor=actor)
    if dry_run:
        imp.delete()
        report.import_id = None
    return report


def _finish(imp: ContactImport, status: str, report: ImportReport, mapping: dict) -> None:
    imp.status, imp.mapping, imp.errors = status, mapping, report.errors
    imp.summary = {k: v for k, v in report.as_dict().items() if k not in ("errors", "preview")}
    imp.csv_text = ""  # the contacts hold the data now (or it was refused): do not keep a copy
    imp.completed_at = timezone.now()
    imp.save()
