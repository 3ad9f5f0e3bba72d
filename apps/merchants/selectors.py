"""Reads for merchants and members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from apps.merchants.models import ApiKey, Invitation, Membership


def memberships_for_user(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("merchant").order_by("merchant__name")


def membership_current(*, user, merchant_id: int | None) -> Membership | None:
    memberships = memberships_for_user(user=user)
    if merchant_id:
        chosen = memberships.filter(merchant_id=merchant_id).first()
        if chosen:
            return chosen
    return memberships.first()


def member_list(*, merchant) -> QuerySet[Membership]:
    return Membership.objects.for_merchant(merchant).select_related("user").order_by("user__email")


def invitation_list_pending(*, merchant) -> QuerySet[Invitation]:
    return Invitation.objects.for_merchant(merchant).filter(accepted_at__isnull=True).select_related("invited_by")


def api_key_list(*, merchant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_merchant(merchant).select_related("created_by")


def invitation_has_account(*, invitation: Invitation) -> bool:
    """Does the invitee already have an account (then they sign in to accept, never set a password)?"""
    return get_user_model().objects.filter(email__iexact=invitation.email).exists()
