"""Writes for merchants, members, invitations and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.core.roles import Role
from apps.merchants import access_events, selectors
from apps.merchants.models import ApiKey, Invitation, Membership, Merchant
from apps.merchants.scopes import ApiScope, scopes_clean

User = get_user_model()
INVITATION_TTL = timedelta(days=7)
API_KEY_PREFIX = "chk"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ------------------------------------------------------------------ merchants
@dataclass(frozen=True)
class MerchantCreated:
    merchant: Merchant
    admin: User
    api_key: str


@transaction.atomic
def merchant_create(
    *,
    slug: str,
    name: str,
    admin_email: str,
    password: str | None = None,
    timezone_name: str = "UTC",
    locale: str = "en",
) -> MerchantCreated:
    """Create a merchant, its first admin (or reuse the user with that e-mail) and an API key."""
    merchant = Merchant(slug=slug, name=name, timezone=timezone_name, locale=locale)
    merchant.full_clean()
    email = admin_email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email)
        user.full_clean(exclude=["password"])
        if password:
            validate_password(password, user)
    try:
        merchant.save()
    except IntegrityError:
        raise ValidationError({"slug": "A merchant with this slug already exists."}) from None
    if user.pk is None:
        user.set_password(password) if password else user.set_unusable_password()
        user.save()
    Membership.objects.create(merchant=merchant, user=user, role=Role.ADMIN)
    # The first key sets the merchant up (channels, members), so it is all-powerful, as keys used to be.
    key = api_key_create(merchant=merchant, name="Default key", scopes=[ApiScope.ADMIN], created_by=user)
    return MerchantCreated(merchant=merchant, admin=user, api_key=key.plain)


def merchant_update(*, merchant: Merchant, **fields) -> Merchant:
    allowed = {"name", "timezone", "locale", "settings"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    for name, value in fields.items():
        setattr(merchant, name, value)
    merchant.full_clean()
    merchant.save(update_fields=[*fields])
    return merchant


# ------------------------------------------------------------------ members
def _admins_left(merchant: Merchant, excluding: Membership) -> int:
    return Membership.objects.for_merchant(merchant).filter(role=Role.ADMIN).exclude(pk=excluding.pk).count()


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Choose one of: {', '.join(Role.values)}."})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _admins_left(membership.merchant, membership):
        raise ValidationError({"role": "A merchant needs at least one admin."})
    membership.role = role
    membership.save(update_fields=["role"])
    access_events.access_changed(user_id=membership.user_id)  # a role without a socket's capability closes it
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.ADMIN and not _admins_left(membership.merchant, membership):
        raise ValidationError({"member": "The last admin cannot be removed."})
    membership.delete()
    access_events.access_changed(user_id=membership.user_id)


# ------------------------------------------------------------------ invitations
@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    token: str


def invitation_create(*, merchant: Merchant, email: str, role: str, invited_by: User | None) -> InvitationSent:
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": f"Choose one of: {', '.join(Role.values)}."})
    if Membership.objects.for_merchant(merchant).filter(user__email=email).exists():
        raise ValidationError({"email": "This person is already a member."})
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        merchant=merchant,
        email=email,
        role=role,
        token_hash=_sha256(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    invitation.full_clean()
    invitation.save()
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("merchants:invitation_accept", args=[token])
    body = render_to_string(
        "merchants/email/invitation.txt", {"merchant": merchant, "link": link, "invitation": invitation}
    )
    transaction.on_commit(
        lambda: send_mail(f"You are invited to {merchant.name} on Charla", body, None, [email], fail_silently=False)
    )
    return InvitationSent(invitation=invitation, token=token)


def invitation_for_token(token: str) -> Invitation | None:
    invitation = Invitation.objects.select_related("merchant").filter(token_hash=_sha256(token)).first()
    if invitation is None or invitation.accepted_at or invitation.expires_at <= timezone.now():
        return None
    return invitation


ACCOUNT_EXISTS = "An account with this e-mail address exists: sign in to accept the invitation."


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User | None = None, password: str | None = None, full_name: str = ""
) -> Membership:
    """Join the invitation's merchant as the signed-in `user`, or as a new user with `password`; a
    `full_name` given on the form becomes the user's.

    A link proves only that someone can read the invitee's mail at the time: it never sets the password
    of an account that already exists (that owner signs in, then accepts).
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.expires_at <= timezone.now():
        raise ValidationError({"token": "This invitation has expired or was already used."})
    if user is None:
        if selectors.invitation_has_account(invitation=invitation):
            raise ValidationError({"email": ACCOUNT_EXISTS})
        user = User(email=invitation.email)
        if password is None:
            raise ValidationError({"password": "Choose a password."})
        validate_password(password, user)
        user.set_password(password)
        user.save()
    elif user.email != invitation.email:
        raise ValidationError({"email": "This invitation was sent to another e-mail address."})
    if full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    membership, _ = Membership.objects.get_or_create(
        merchant=invitation.merchant, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


def invitations_purge_expired() -> int:
    deleted, _ = Invitation.objects.filter(accepted_at__isnull=True, expires_at__lte=timezone.now()).delete()
    return deleted


# ------------------------------------------------------------------ API keys
def api_key_create(*, merchant: Merchant, name: str, scopes: list[str], created_by: User | None) -> ApiKey:
    """Create a key with these scopes (apps/merchants/scopes.py); its secret is on `key.plain` now and never again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name."})
    scopes = scopes_clean(scopes)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    plain = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    key = ApiKey(
        merchant=merchant, name=name[:80], prefix=prefix, key_hash=_sha256(plain), scopes=scopes, created_by=created_by
    )
    key.save()
    key.plain = plain
    return key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(plain: str) -> ApiKey | None:
    """The active key for this secret, or None. Compared in constant time."""
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = ApiKey.objects.select_related("merchant").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.key_hash, _sha256(plain)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
