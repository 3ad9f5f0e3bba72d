"""The contacts app's own sweeps during an erasure: the ledger's identifiers, imports, the admin log.

`contact_erase` (services/export_erase.py) calls these inside its transaction; other apps' copies are
swept by the erase hooks they register (apps.contacts.privacy_hooks).
"""

from __future__ import annotations

import json
from functools import reduce
from operator import or_

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from apps.contacts.models import ConsentEvent, Contact, ContactIdentity, ContactImport
from apps.contacts.redaction import ERASED, Traces, traces_build


def family_traces(family: list[Contact], identities: list[ContactIdentity]) -> Traces:
    return traces_build(
        names=[c.name for c in family],
        phones=[c.phone for c in family],
        emails=[c.email for c in family],
        identities=[(i.kind, i.external_id) for i in identities],
    )


def mentioning(field: str, traces: Traces) -> Q:
    """Rows whose `field` contains any of the person's identifiers (case-insensitive)."""
    if not traces.identifiers:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{field}__icontains": value}) for value in traces.identifiers))


def ledger_redact(*, family_ids: list[int], traces: Traces) -> None:
    """Blank IP, user agent and evidence URL; identifiers inside evidence ids become suppression tokens.

    The event (action, source, wording, times) stays as the proof; the database trigger allows only
    these four columns to change, and only on erased contacts (migration 0007).
    """
    events = ConsentEvent.objects.filter(contact_id__in=family_ids)
    evidence = {
        pk: traces.tokenize(value)[:200]
        for pk, value in events.exclude(evidence_message_id="").values_list("pk", "evidence_message_id")
    }
    events._redact_for_erasure(evidence={pk: value for pk, value in evidence.items() if value})


def imports_redact(*, merchant_id: int, traces: Traces) -> None:
    """An import not yet run (or refused) still holds its file: drop the person's lines and row errors."""
    imports = ContactImport.objects.for_merchant(merchant_id).filter(
        mentioning("csv_text", traces) | mentioning("errors", traces)
    )
    for imp in imports:
        imp.csv_text = "".join(line for line in imp.csv_text.splitlines(keepends=True) if not traces.mentions(line))
        imp.errors = [error for error in imp.errors if not traces.mentions(json.dumps(error))]
        imp.save(update_fields=["csv_text", "errors"])


def admin_log_redact(*, family_ids: list[int], traces: Traces) -> None:
    """Django admin's history: the contact's own entries lose their text, others lose the identifiers."""
    own = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Contact), object_id__in=[str(pk) for pk in family_ids]
    )
    for entry in own:
        entry.object_repr, entry.change_message = f"Contact {entry.object_id} ({ERASED})", ""
        entry.save(update_fields=["object_repr", "change_message"])
    others = LogEntry.objects.exclude(pk__in=own.values("pk")).filter(
        mentioning("object_repr", traces) | mentioning("change_message", traces)
    )
    for entry in others:
        entry.object_repr, entry.change_message = traces.scrub(entry.object_repr), traces.scrub(entry.change_message)
        entry.save(update_fields=["object_repr", "change_message"])
