"""Writes for apps.contacts. Other apps import from here (the names in docs/interfaces.md)."""

from apps.contacts.services.consent import (
    ConfirmationInvalid,
    consent_confirm_by_token,
    consent_confirm_token,
    consent_confirm_url,
    consent_confirmation_email,
    consent_next_status,
    consent_record,
    consent_validate,
)
from apps.contacts.services.contacts import (
    DUPLICATE_PHONE,
    attribute_definitions,
    contact_clean_fields,
    contact_create,
    contact_identity_move,
    contact_identity_set,
    contact_resolve_identities,
    contact_resolve_identity,
    contact_timezone,
    contact_update,
    identity_normalize,
    phone_normalize,
    phone_single_timezone,
)
from apps.contacts.services.export_erase import consent_ledger_csv, contact_erase, contact_export
from apps.contacts.services.imports import contact_import_run, contact_import_upload
from apps.contacts.services.merge import contact_merge
from apps.contacts.services.senders import Sender, contacts_resolve_many, contacts_touch_many
from apps.contacts.services.settings import (
    attribute_definition_create,
    attribute_definition_delete,
    keyword_create,
    keyword_delete,
)

__all__ = [
    "DUPLICATE_PHONE",
    "ConfirmationInvalid",
    "Sender",
    "attribute_definition_create",
    "attribute_definition_delete",
    "attribute_definitions",
    "consent_confirm_by_token",
    "consent_confirm_token",
    "consent_confirm_url",
    "consent_confirmation_email",
    "consent_ledger_csv",
    "consent_next_status",
    "consent_record",
    "consent_validate",
    "contact_clean_fields",
    "contact_create",
    "contact_erase",
    "contact_export",
    "contact_identity_move",
    "contact_identity_set",
    "contact_import_run",
    "contact_import_upload",
    "contact_merge",
    "contact_resolve_identities",
    "contact_resolve_identity",
    "contact_timezone",
    "contact_update",
    "contacts_resolve_many",
    "contacts_touch_many",
    "identity_normalize",
    "keyword_create",
    "keyword_delete",
    "phone_normalize",
    "phone_single_timezone",
]
