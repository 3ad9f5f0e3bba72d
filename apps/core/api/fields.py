"""Serializer fields that resolve ids within the caller's merchant (the tenancy kit's API half).

The merchant comes from the serializer context (`MerchantScopedMixin.get_serializer_context`). Another
merchant's id, or no merchant in the context, reads as "does not exist": the same 400 a missing id
gets, so an id never tells whether it exists elsewhere.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import serializers


class MerchantPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """`contact = MerchantPrimaryKeyField(queryset=Contact.objects)`: a row of the caller's merchant."""

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        merchant = self.context.get("merchant")
        return queryset.none() if merchant is None else queryset.for_merchant(merchant)


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user id of a member of the caller's merchant. Whether the member's role fits (an agent for an
    assignee) is the service's check (apps.merchants.selectors.member_can), so the API and the pages
    refuse with the same words."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("queryset", get_user_model().objects)
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        merchant = self.context.get("merchant")
        queryset = super().get_queryset()
        return queryset.none() if merchant is None else queryset.filter(memberships__merchant=merchant)
