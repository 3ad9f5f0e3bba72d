from datetime import timedelta

from django.utils import timezone

from apps.core.roles import Role
from apps.merchants.models import ApiKey, Invitation
from tests.factories.merchants import MembershipFactory, UserFactory

SECRET = "SWEEP-SECRET"


def _membership(owner):
    user = UserFactory(email=f"sweep-secret-{owner.pk}-{timezone.now().timestamp()}@example.test", full_name=SECRET)
    return {"membership_id": MembershipFactory(merchant=owner, user=user, role=Role.AGENT).pk}


def _invitation(owner):
    invitation = Invitation.objects.create(
        merchant=owner,
        email="sweep-secret-invitee@example.test",
        role=Role.AGENT,
        token_hash=f"sweep-{owner.pk}-{timezone.now().timestamp()}",
        expires_at=timezone.now() + timedelta(days=1),
    )
    return {"invitation_id": invitation.pk}


def _api_key(owner):
    key = ApiKey.objects.create(
        merchant=owner, name=SECRET, prefix=f"sw{owner.pk}{timezone.now().microsecond}", key_hash="x"
    )
    return {"key_id": key.pk}


ROUTES = {
    "merchants:member_role": _membership,
    "merchants:member_remove": _membership,
    "merchants:invitation_revoke": _invitation,
    "merchants:api_key_revoke": _api_key,
    "api:member-detail": lambda owner: {"pk": _membership(owner)["membership_id"]},
}

EXEMPT = {
    "merchants:invitation_accept": "public, authorised by the invitation's one-time token",
    "password_reset_confirm": "public, authorised by Django's signed reset token",
}
