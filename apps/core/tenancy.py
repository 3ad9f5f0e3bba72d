"""Tenancy in one place.

Every row a merchant owns inherits `MerchantOwned`; every read goes through
`Model.objects.for_merchant(merchant)` or an `access_object` helper that answers 404 for
another merchant's id. The merchant is always passed explicitly: there is no thread-local
"current tenant".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from apps.merchants.models import Merchant

M = TypeVar("M", bound="MerchantOwned")


class MerchantQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Merchant | int) -> MerchantQuerySet:
        merchant_id = merchant if isinstance(merchant, int) else merchant.pk
        return self.filter(merchant_id=merchant_id)


MerchantManager = models.Manager.from_queryset(MerchantQuerySet)


class MerchantOwned(models.Model):
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")

    objects = MerchantManager()

    # Foreign keys named here must point at rows of the same merchant (checked in clean()).
    same_merchant_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        same_merchant_check(self, *self.same_merchant_fields)


def same_merchant_check(obj: models.Model, *field_names: str) -> None:
    """Refuse links from one merchant's row to another merchant's row."""
    errors = {}
    for name in field_names:
        related = getattr(obj, name, None)
        if related is not None and getattr(related, "merchant_id", None) != obj.merchant_id:
            errors[name] = "belongs to another merchant"
    if errors:
        raise ValidationError(errors)


def access_object(model: type[M], *, merchant: Merchant | int, pk: object, queryset=None) -> M:
    """The merchant's row with this primary key, or 404 (also for another merchant's id)."""
    qs = queryset if queryset is not None else model.objects.all()
    try:
        return qs.for_merchant(merchant).get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(f"No {model._meta.verbose_name} with this id.") from None
