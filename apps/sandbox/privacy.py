"""The sandbox's part of a contact's erasure (registered with apps.contacts.privacy_hooks)."""

from __future__ import annotations

from apps.contacts.redaction import Traces
from apps.sandbox.models import SandboxMessage


def sandbox_erase(*, merchant_id: int, traces: Traces) -> None:
    """The phone's copies are play data about the person (their address, what they were sent): deleted whole."""
    identifiers = set(traces.identifiers)  # lower case, like a business-scoped user id's "es." prefix here
    rows = SandboxMessage.objects.for_merchant(merchant_id)
    doomed = [pk for pk, address in rows.values_list("pk", "address") if address.lower() in identifiers]
    if doomed:
        rows.filter(pk__in=doomed).delete()


def register() -> None:
    from apps.contacts.privacy_hooks import register_erase_sweep

    register_erase_sweep(sandbox_erase)
