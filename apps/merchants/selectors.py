"""Reads for merchants and members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from apps.core.roles import role_can
from apps.core.tenancy import MerchantRef
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


def member_can(*, merchant: MerchantRef, user: AbstractBaseUser | None, capability: str) -> bool:
    """Is `user` a member of `merchant` whose role grants `capability` (an agent, for INBOX or TICKETS)?

    The one "is this user an agent of this merchant" check: assignments, sockets and pickers ask it.
    """
    if user is None or not user.is_authenticated:
        return False
    role = Membership.objects.for_merchant(merchant).filter(user=user).values_list("role", flat=True).first()
    return role_can(role, capability)


def members_who_can(*, merchant: MerchantRef, capability: str) -> list[Membership]:
    """The merchant's members (with their users, by e-mail) whose role grants `capability`."""
    return [m for m in member_list(merchant=merchant) if role_can(m.role, capability)]
