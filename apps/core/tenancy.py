"""Tenancy in one place.

Every row a merchant owns inherits `MerchantOwned`; every read goes through
`Model.objects.for_merchant(merchant)` or an `access_object` helper that answers 404 for
another merchant's id. The merchant is always passed explicitly: there is no thread-local
"current tenant".
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404

M = TypeVar("M", bound="MerchantOwned")
# A Merchant row or its id. Typed as any model, not Merchant: merchants.models builds on this module, and
# naming Merchant here (even for type checking only) would make the two modules import each other.
MerchantRef = models.Model | int


class MerchantQuerySet(models.QuerySet):
    def for_merchant(self, merchant: MerchantRef) -> MerchantQuerySet:
        merchant_id = merchant if isinstance(merchant, int) else merchant.pk
        return self.filter(merchant_id=merchant_id)


MerchantManager = models.Manager.from_queryset(MerchantQuerySet)


class MerchantOwned(models.Model):
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")

    objects = MerchantManager()

    # Foreign keys named here must point at rows of the same merchant: checked in clean() (forms, the
    # admin) and in save() for every related row the instance holds, which is how services link rows
    # (they pass objects, not ids). QuerySet.update() and bulk_create() skip save(): the services that
    # use them copy merchant-scoped rows they already checked (see "Tenancy rule" in the architecture doc).
    same_merchant_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Only rows already loaded: checking an id alone would cost a query per link on every save.
        cache = self._state.fields_cache
        links = {name: cache.get(name) for name in self.same_merchant_fields}
        ensure_same_merchant(merchant_id=self.merchant_id, **links)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        links = {name: getattr(self, name, None) for name in self.same_merchant_fields}
        ensure_same_merchant(merchant_id=self.merchant_id, **links)


def ensure_same_merchant(*, merchant_id: int, **linked: models.Model | None) -> None:
    """Refuse linking a row of merchant `merchant_id` to another merchant's rows; None links nothing.

    The one same-merchant check: every service that links two rows calls it (or saves a MerchantOwned
    that names the link in `same_merchant_fields`). Raises ValidationError keyed by the link's name.
    """
    errors = {
        name: "belongs to another merchant"
        for name, row in linked.items()
        if row is not None and getattr(row, "merchant_id", None) != merchant_id
    }
    if errors:
        raise ValidationError(errors)


def access_object(model: type[M], *, merchant: MerchantRef, pk: object, queryset=None) -> M:
    """The merchant's row with this primary key, or 404 (also for another merchant's id)."""
    qs = queryset if queryset is not None else model.objects.all()
    try:
        return qs.for_merchant(merchant).get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(f"No {model._meta.verbose_name} with this id.") from None
