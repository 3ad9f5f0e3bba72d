"""The campaigns app's part of a contact's erasure (registered with apps.contacts.privacy_hooks).

Deliveries stay (a campaign's counts must not change when a recipient is erased); only the
provider's error text is blanked, because Meta quotes the recipient's number in some of them.
"""

from __future__ import annotations

from apps.campaigns.models import Delivery
from apps.contacts.redaction import Traces


def deliveries_erase(*, contact, traces: Traces) -> None:
    Delivery.objects.filter(merchant_id=contact.merchant_id, contact=contact).exclude(error_message="").update(
        error_message=""
    )


def register() -> None:
    from apps.contacts import privacy_hooks

    privacy_hooks.register_erase_hook(deliveries_erase)
