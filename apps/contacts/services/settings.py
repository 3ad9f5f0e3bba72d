"""Per-merchant keyword words and custom attribute definitions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from apps.contacts.models import AttributeDefinition, AttributeType, ConsentKeyword, KeywordKind
from apps.merchants.models import Merchant


def keyword_create(*, merchant: Merchant, word: str, kind: str, language: str = "") -> ConsentKeyword:
    from apps.contacts.keywords import keyword_normalize

    normalized = keyword_normalize(word or "")
    errors = {}
    if not normalized or len(normalized) > 40:
        errors["word"] = ["Give a word or short phrase of up to 40 characters."]
    if kind not in KeywordKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(KeywordKind.values)}."]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return ConsentKeyword.objects.create(merchant=merchant, word=normalized, kind=kind, language=language[:10])
    except IntegrityError:
        raise ValidationError({"word": [f"“{normalized}” is already a keyword."]}) from None


def attribute_definition_create(*, merchant: Merchant, key: str, label: str, type: str) -> AttributeDefinition:
    errors = {}
    try:
        validate_slug(key or "")
    except ValidationError:
        errors["key"] = ["Use letters, digits, hyphens or underscores."]
    if type not in AttributeType.values:
        errors["type"] = [f"Choose one of: {', '.join(AttributeType.values)}."]
    if not (label or "").strip():
        errors["label"] = ["Give a label."]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return AttributeDefinition.objects.create(merchant=merchant, key=key, label=label.strip()[:100], type=type)
    except IntegrityError:
        raise ValidationError({"key": [f"An attribute “{key}” already exists."]}) from None


def keyword_delete(*, keyword: ConsentKeyword) -> None:
    keyword.delete()


def attribute_definition_delete(*, attribute: AttributeDefinition) -> None:
    """Values stay on the contacts until they are edited: deleting a definition rewrites no contact."""
    attribute.delete()
