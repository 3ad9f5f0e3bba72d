"""The contacts list as CSV: the list's filters, the columns a member chose, consent per channel, streamed.

Column names are the API's field names; `attr:<key>` is a custom attribute (as in imports), and
`consent_<channel>_<purpose>` writes the state (granted | revoked | pending | none) and, beside it,
`consent_<channel>_<purpose>_since`. Erased and merged contacts are not in the list, so not in the export.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.contacts import selectors
from apps.contacts.models import (
    AttributeDefinition,
    ConsentChannel,
    ConsentState,
    ConsentStatus,
    Contact,
    IdentityKind,
    Purpose,
)
from apps.core.csv_export import csv_lines
from apps.merchants.models import ApiKey, Merchant

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

IDENTITY_COLUMNS = {"whatsapp_id": IdentityKind.WHATSAPP, "messenger_psid": IdentityKind.MESSENGER}
FIXED_COLUMNS = ("id", "name", "phone", "email", "whatsapp_id", "messenger_psid", "timezone", "locale", "tags",
                 "created_at")  # fmt: skip
ATTRIBUTE_PREFIX = "attr:"
CONSENT_COLUMNS = {
    f"consent_{channel}_{purpose}": (channel, purpose)
    for channel in ConsentChannel.values
    for purpose in Purpose.values
}
DEFAULT_COLUMNS = ("id", "name", "phone", "email", "whatsapp_id", "tags", "created_at", "consent_whatsapp_marketing")
# What a column name can look like (OpenAPI); whether an `attr:` key exists is the merchant's.
COLUMN_PATTERN = f"^({'|'.join([*FIXED_COLUMNS, *CONSENT_COLUMNS])}|{ATTRIBUTE_PREFIX}[-a-zA-Z0-9_]+)$"
# Filters whose values name a person: the audit line says they were given, not what they were.
PERSONAL_FILTERS = frozenset({"q", "phone", "email", "identities"})


def export_columns(*, merchant: Merchant) -> list[str]:
    """Every column this merchant's export offers, in the order the form shows them."""
    keys = AttributeDefinition.objects.for_merchant(merchant).order_by("key").values_list("key", flat=True)
    return [*FIXED_COLUMNS, *(ATTRIBUTE_PREFIX + key for key in keys), *CONSENT_COLUMNS]


def export_columns_parse(*, values: Iterable[str], available: Sequence[str]) -> list[str]:
    """`columns=id,name` or repeated `columns=` (a form's checkboxes) -> the chosen columns, in the order given.

    None chosen (or an empty `columns=`) is the default set; ValidationError on `columns` naming each unknown
    one (a name is taken as written: " name" or an empty name between commas is unknown).
    """
    chosen = list(dict.fromkeys(name for value in values if value for name in value.split(",")))
    unknown = [name for name in chosen if name not in available]
    if unknown:
        names = ", ".join(f"“{name}”" for name in unknown)
        raise ValidationError({"columns": [f"Unknown column {names}; choose from: {', '.join(available)}."]})
    return chosen or list(DEFAULT_COLUMNS)


def contacts_csv(
    *,
    merchant: Merchant,
    filters: dict,
    columns: Sequence[str],
    user: User | None = None,
    api_key: ApiKey | None = None,
) -> Iterator[str]:
    """The contacts `selectors.contact_list(**filters)` holds, as CSV lines of `columns` (constant memory).

    Personal data leaving the system: one audit line says who (the member, else the API key) took which
    columns of which filter, when the export starts.
    """
    actor = f"member:{user.pk}" if user is not None else f"api_key:{api_key.pk}"
    _audit(merchant=merchant, filters=filters, columns=columns, actor=actor)
    chunks = selectors.contact_chunks(
        contacts=selectors.contact_list(merchant=merchant, **filters), size=settings.CONTACTS_EXPORT_CHUNK,
        consent=any(column in CONSENT_COLUMNS for column in columns),
    )  # fmt: skip
    cells = [_cells_of(column) for column in columns]
    rows = ([cell for of in cells for cell in of(*row)] for chunk in chunks for row in chunk)
    return csv_lines(_header(columns), rows)


def _audit(*, merchant: Merchant, filters: dict, columns: Sequence[str], actor: str) -> None:
    given = {name: ("<given>" if name in PERSONAL_FILTERS else value) for name, value in filters.items() if value}
    logger.info(
        "contacts.exported merchant=%s actor=%s columns=%s filters=%s", merchant.pk, actor, ",".join(columns), given,
        extra={"merchant_id": merchant.pk, "actor": actor, "columns": list(columns), "filters": given},
    )  # fmt: skip


def _header(columns: Sequence[str]) -> Iterator[str]:
    for column in columns:
        yield column
        if column in CONSENT_COLUMNS:
            yield f"{column}_since"


def _cells_of(column: str) -> Callable[[Contact, dict, dict], list]:
    """How one column reads a contact, its identities and its consent states (`selectors.contact_chunks`)."""
    if column in CONSENT_COLUMNS:
        key = CONSENT_COLUMNS[column]
        return lambda contact, identities, states: _consent_cells(states.get(key))
    if column in IDENTITY_COLUMNS:
        kind = IDENTITY_COLUMNS[column]
        return lambda contact, identities, states: [identities.get(kind, "")]
    if column.startswith(ATTRIBUTE_PREFIX):
        name = column.removeprefix(ATTRIBUTE_PREFIX)
        return lambda contact, identities, states: [_attribute_cell(contact.attributes.get(name))]
    if column == "tags":
        return lambda contact, identities, states: [", ".join(contact.tags)]  # what an import's tags column reads
    return lambda contact, identities, states: [getattr(contact, column)]


def _consent_cells(state: ConsentState | None) -> list:
    return [state.status, state.since] if state else [ConsentStatus.NONE.value, ""]


def _attribute_cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the API's JSON says it, and as an import reads it
    return value
