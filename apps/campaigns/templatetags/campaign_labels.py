"""`{% load campaign_labels %}`: reason and failure codes in plain words (apps.campaigns.exclusions)."""

from __future__ import annotations

from django import template

from apps.campaigns.exclusions import exclusion_label, failure_label, labelled

register = template.Library()


@register.filter
def exclusions(counts: dict[str, int] | None) -> list[tuple[str, int, str]]:
    """{"no_consent": 18} -> [("no_consent", 18, "18 have not agreed to WhatsApp marketing")]."""
    return labelled(counts or {}, exclusion_label)


@register.filter
def failures(counts: dict[str, int] | None) -> list[tuple[str, int, str]]:
    return labelled(counts or {}, failure_label)
