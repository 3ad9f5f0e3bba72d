"""Canned responses: short reusable replies agents insert with /shortcut."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.conversations.models import CannedResponse


def _save(canned: CannedResponse) -> CannedResponse:
    canned.shortcut = (canned.shortcut or "").strip().lower()
    canned.full_clean(exclude=["merchant", "created_by"])
    try:
        with transaction.atomic():
            canned.save()
    except IntegrityError:
        raise ValidationError({"shortcut": "is already used by another canned response"}) from None
    return canned


def canned_response_create(*, merchant, shortcut: str, body: str, title: str = "", created_by=None) -> CannedResponse:
    return _save(CannedResponse(merchant=merchant, shortcut=shortcut, title=title, body=body, created_by=created_by))


def canned_response_update(*, canned: CannedResponse, **fields) -> CannedResponse:
    for name, value in fields.items():
        if name not in ("shortcut", "title", "body"):
            raise ValidationError({name: "cannot be changed"})
        setattr(canned, name, value)
    return _save(canned)


def canned_response_delete(*, canned: CannedResponse) -> None:
    canned.delete()
