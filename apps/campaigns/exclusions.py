"""Why a contact was left out of a campaign, or why its message failed, in plain words with a count.

The one mapping of the ledger's reason codes (`Delivery.reason`, `audience_preview`'s exclusions) to what a
marketer reads: the wizard's live count and the results page both call `exclusion_label`, so "18 have not
agreed to WhatsApp marketing" reads the same before launch and after. Pure text, no database access.
"""

from __future__ import annotations

from apps.meta.errors import code_label

# code -> (singular, plural), each read after the count: "1 has …", "18 have …".
EXCLUSION_LABELS: dict[str, tuple[str, str]] = {
    "no_consent": ("has not agreed to WhatsApp marketing", "have not agreed to WhatsApp marketing"),
    "revoked": ("stopped WhatsApp marketing", "stopped WhatsApp marketing"),
    "pending_confirmation": (
        "has not confirmed the WhatsApp marketing opt-in yet",
        "have not confirmed the WhatsApp marketing opt-in yet",
    ),
    "no_identity": ("cannot be reached on WhatsApp", "cannot be reached on WhatsApp"),
    "suppressed": ("is suppressed", "are suppressed"),
    "erased": ("was erased", "were erased"),
    "frequency_cap": ("reached their frequency cap", "reached their frequency cap"),
    "marketing_limit": (
        "reached WhatsApp's daily limit of marketing messages",
        "reached WhatsApp's daily limit of marketing messages",
    ),
    "missing_variable": (
        "had no value for a template variable and no fallback",
        "had no value for a template variable and no fallback",
    ),
    "cancelled": ("was not sent: the campaign was cancelled", "were not sent: the campaign was cancelled"),
}
UNKNOWN_EXCLUSION = ("was left out", "were left out")


def exclusion_label(code: str, count: int) -> str:
    """`exclusion_label("no_consent", 18)` -> "18 have not agreed to WhatsApp marketing"."""
    singular, plural = EXCLUSION_LABELS.get(code, UNKNOWN_EXCLUSION)
    return f"{count} {singular if count == 1 else plural}"


def failure_label(code: str, count: int) -> str:
    """`failure_label("131026", 2)` -> "2 failed: the message could not be delivered (code 131026)"."""
    return f"{count} failed: {code_label(code)}"


def labelled(counts: dict[str, int], label=exclusion_label) -> list[tuple[str, int, str]]:
    """(code, count, words), biggest first, for a template to list."""
    return [(code, n, label(code, n)) for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
