"""Segment writes."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.campaigns.models import Segment
from apps.campaigns.segment_rules import rules_clean


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Name the segment."]})
    return name[:200]


def segment_create(*, merchant, name: str, rules: dict | None = None) -> Segment:
    return Segment.objects.create(merchant=merchant, name=_name(name), rules=rules_clean(rules or {}))


def segment_update(*, segment: Segment, name: str | None = None, rules: dict | None = None) -> Segment:
    if name is not None:
        segment.name = _name(name)
    if rules is not None:
        segment.rules = rules_clean(rules)
    segment.save()
    return segment


def segment_delete(*, segment: Segment) -> None:
    if segment.campaigns.exists():
        raise ValidationError({"segment": ["Campaigns use this segment; it cannot be deleted."]})
    segment.delete()
