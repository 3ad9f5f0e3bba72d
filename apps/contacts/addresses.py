"""Where a message to a contact goes on WhatsApp: the one rule replies, the consent gate and campaigns share.

Meta's Cloud API addresses a person by phone number (`to`: a wa_id is the number's digits) or, since the
2026 usernames change, by business-scoped user id (`recipient`: a user who hides their number has nothing
else). When both are known the number wins, as Meta recommends: sends to a number keep the number in the
webhooks that follow. Pure: no database access.
"""

from __future__ import annotations

from collections.abc import Iterable

from apps.contacts.models import IdentityKind
from apps.core import inputs

WHATSAPP_ADDRESS_KINDS = (IdentityKind.WHATSAPP, IdentityKind.WHATSAPP_USER)


def whatsapp_address(*, phone: str, identities: Iterable[tuple[str, str]]) -> str | None:
    """The contact's WhatsApp address: its wa_id, else its E.164 phone's digits, else its business-scoped
    user id; None when it has none. Of several ids of one kind, the last given wins (callers pass them
    oldest first)."""
    latest = {kind: external_id for kind, external_id in identities if external_id}
    digits = (phone or "")[1:]
    number = digits if (phone or "").startswith("+") and inputs.is_ascii_digits(digits) else ""
    return latest.get(IdentityKind.WHATSAPP) or number or latest.get(IdentityKind.WHATSAPP_USER)
