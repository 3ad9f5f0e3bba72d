from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.roles import Role
from apps.merchants import services
from apps.merchants.models import ApiKey, Invitation, Membership, Merchant
from tests.factories.merchants import PASSWORD, MembershipFactory, UserFactory

User = get_user_model()
pytestmark = pytest.mark.django_db


class TestMerchantCreate:
    def test_creates_merchant_admin_and_working_key(self):
        created = services.merchant_create(
            slug="bakery", name="Bakery", admin_email="Owner@Bakery.test", password="Long-enough-pw-1"
        )
        assert created.merchant.slug == "bakery"
        assert created.admin.email == "owner@bakery.test"
        assert created.admin.check_password("Long-enough-pw-1")
        assert Membership.objects.get(merchant=created.merchant).role == Role.ADMIN
        assert services.api_key_authenticate(created.api_key).merchant == created.merchant

    def test_taken_slug_is_refused_and_creates_nothing(self, merchant):
        users_before = User.objects.count()
        with pytest.raises(ValidationError) as exc:
            services.merchant_create(slug=merchant.slug, name="Again", admin_email="new@x.test")
        assert "slug" in exc.value.message_dict
        assert Merchant.objects.count() == 1
        assert User.objects.count() == users_before
        assert ApiKey.objects.count() == 0

    @pytest.mark.parametrize(
        ("field", "kwargs"),
        [
            ("slug", {"slug": "Bad Slug!"}),
            ("timezone", {"timezone_name": "Mars/Olympus"}),
            ("locale", {"locale": "xx"}),
            ("email", {"admin_email": "not-an-email"}),
        ],
    )
    def test_invalid_input_names_the_field_and_creates_nothing(self, field, kwargs):
        arguments = {"slug": "ok-slug", "name": "Shop", "admin_email": "a@b.test", **kwargs}
        with pytest.raises(ValidationError) as exc:
            services.merchant_create(**arguments)
        assert field in exc.value.message_dict
        assert not Merchant.objects.exists()
        assert not User.objects.exists()

    def test_weak_password_is_refused(self):
        with pytest.raises(ValidationError):
            services.merchant_create(slug="shop", name="Shop", admin_email="a@b.test", password="123")
        assert not Merchant.objects.exists()

    def test_existing_user_becomes_admin_of_a_second_merchant(self, admin_membership):
        created = services.merchant_create(slug="second", name="Second", admin_email=admin_membership.user.email)
        assert created.admin == admin_membership.user
        assert admin_membership.user.memberships.count() == 2


class TestMembers:
    def test_role_change(self, admin_membership, agent_membership):
        services.membership_set_role(membership=agent_membership, role=Role.MARKETER)
        agent_membership.refresh_from_db()
        assert agent_membership.role == Role.MARKETER

    def test_last_admin_cannot_be_demoted_or_removed(self, admin_membership):
        with pytest.raises(ValidationError):
            services.membership_set_role(membership=admin_membership, role=Role.AGENT)
        with pytest.raises(ValidationError):
            services.membership_remove(membership=admin_membership)
        admin_membership.refresh_from_db()
        assert admin_membership.role == Role.ADMIN

    def test_an_admin_can_be_removed_while_another_remains(self, admin_membership):
        second = MembershipFactory(merchant=admin_membership.merchant, role=Role.ADMIN)
        services.membership_remove(membership=second)
        assert not Membership.objects.filter(pk=second.pk).exists()

    def test_unknown_role_is_refused(self, agent_membership):
        with pytest.raises(ValidationError) as exc:
            services.membership_set_role(membership=agent_membership, role="owner")
        assert "role" in exc.value.message_dict


class TestInvitations:
    def test_invitation_is_mailed_with_a_working_link(
        self, merchant, admin_membership, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            sent = services.invitation_create(
                merchant=merchant, email="New@Agent.test", role=Role.AGENT, invited_by=admin_membership.user
            )
        assert sent.invitation.email == "new@agent.test"
        assert len(mail.outbox) == 1
        assert sent.token in mail.outbox[0].body
        assert Invitation.objects.get().token_hash != sent.token  # stored hashed
        assert services.invitation_for_token(sent.token) == sent.invitation

    def test_accepting_creates_the_user_and_membership_once(self, merchant, admin_membership):
        sent = services.invitation_create(merchant=merchant, email="n@x.test", role=Role.MARKETER, invited_by=None)
        membership = services.invitation_accept(invitation=sent.invitation, password="A-fine-password-9")
        assert membership.role == Role.MARKETER
        assert membership.user.check_password("A-fine-password-9")
        assert services.invitation_for_token(sent.token) is None
        with pytest.raises(ValidationError):
            services.invitation_accept(invitation=sent.invitation, password="A-fine-password-9")

    def test_accepting_for_an_existing_account_never_sets_its_password(self, merchant):
        existing = UserFactory(email="owner@x.test")
        sent = services.invitation_create(merchant=merchant, email="Owner@X.test", role=Role.AGENT, invited_by=None)
        with pytest.raises(ValidationError) as refused:
            services.invitation_accept(invitation=sent.invitation, password="Attacker-chosen-9")
        assert refused.value.message_dict == {"email": [services.ACCOUNT_EXISTS]}
        existing.refresh_from_db()
        assert existing.check_password(PASSWORD) and not existing.check_password("Attacker-chosen-9")
        assert not Membership.objects.filter(user=existing).exists()
        assert services.invitation_for_token(sent.token) == sent.invitation  # still usable by its owner
        membership = services.invitation_accept(invitation=sent.invitation, user=existing)
        assert (membership.user, membership.role) == (existing, Role.AGENT)

    def test_expired_invitation_is_refused(self, merchant):
        sent = services.invitation_create(merchant=merchant, email="late@x.test", role=Role.AGENT, invited_by=None)
        Invitation.objects.filter(pk=sent.invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert services.invitation_for_token(sent.token) is None
        with pytest.raises(ValidationError):
            services.invitation_accept(invitation=sent.invitation, password="A-fine-password-9")
        assert not User.objects.filter(email="late@x.test").exists()

    def test_weak_password_on_accept_leaves_invitation_usable(self, merchant):
        sent = services.invitation_create(merchant=merchant, email="w@x.test", role=Role.AGENT, invited_by=None)
        with pytest.raises(ValidationError):
            services.invitation_accept(invitation=sent.invitation, password="short")
        assert services.invitation_for_token(sent.token) is not None
        assert not User.objects.filter(email="w@x.test").exists()

    def test_inviting_an_existing_member_is_refused(self, merchant, agent_membership):
        with pytest.raises(ValidationError) as exc:
            services.invitation_create(
                merchant=merchant, email=agent_membership.user.email, role=Role.AGENT, invited_by=None
            )
        assert "email" in exc.value.message_dict

    def test_signed_in_user_with_other_email_cannot_take_the_invitation(self, merchant):
        sent = services.invitation_create(merchant=merchant, email="right@x.test", role=Role.AGENT, invited_by=None)
        with pytest.raises(ValidationError):
            services.invitation_accept(invitation=sent.invitation, user=UserFactory(email="wrong@x.test"))
        assert not Membership.objects.filter(merchant=merchant).exists()

    def test_purge_removes_only_expired_unaccepted(self, merchant):
        fresh = services.invitation_create(merchant=merchant, email="a@x.test", role=Role.AGENT, invited_by=None)
        old = services.invitation_create(merchant=merchant, email="b@x.test", role=Role.AGENT, invited_by=None)
        Invitation.objects.filter(pk=old.invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
        assert services.invitations_purge_expired() == 1
        assert list(Invitation.objects.values_list("pk", flat=True)) == [fresh.invitation.pk]


class TestApiKeys:
    def test_key_is_shown_once_and_stored_hashed(self, merchant):
        key = services.api_key_create(merchant=merchant, name="Shop", scopes=["admin"], created_by=None)
        stored = ApiKey.objects.get(pk=key.pk)
        assert key.plain.startswith("chk_")
        assert key.plain not in (stored.key_hash, stored.prefix)
        assert not hasattr(stored, "plain")

    def test_revoked_or_altered_keys_do_not_authenticate(self, merchant):
        key = services.api_key_create(merchant=merchant, name="Shop", scopes=["admin"], created_by=None)
        assert services.api_key_authenticate(key.plain[:-1] + ("A" if key.plain[-1] != "A" else "B")) is None
        assert services.api_key_authenticate("garbage") is None
        services.api_key_revoke(api_key=key)
        assert services.api_key_authenticate(key.plain) is None

    def test_blank_name_is_refused(self, merchant):
        with pytest.raises(ValidationError) as exc:
            services.api_key_create(merchant=merchant, name="  ", scopes=["admin"], created_by=None)
        assert "name" in exc.value.message_dict
