import re

import pytest
from django.core import mail
from django.urls import reverse

from apps.core.roles import Role
from apps.merchants.models import ApiKey, Invitation, Membership
from apps.merchants.services import api_key_authenticate, invitation_create
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestLogin:
    def test_login_reaches_the_dashboard(self, client, admin_membership):
        response = client.post(
            reverse("login"), {"username": admin_membership.user.email.upper(), "password": PASSWORD}, follow=True
        )
        assert response.redirect_chain[-1][0] == reverse("core:dashboard")
        assert admin_membership.merchant.name in response.content.decode()

    def test_wrong_password_shows_an_error(self, client, admin_membership):
        response = client.post(reverse("login"), {"username": admin_membership.user.email, "password": "wrong"})
        assert response.status_code == 200
        assert "correct" in response.content.decode()  # Django's "Please enter a correct e-mail and password"
        assert "_auth_user_id" not in client.session

    def test_pages_redirect_anonymous_users_to_login(self, client):
        response = client.get(reverse("core:dashboard"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_logout(self, member_client, agent_membership):
        client = member_client(agent_membership)
        client.post(reverse("logout"))
        assert client.get(reverse("core:dashboard")).status_code == 302

    def test_password_reset_mails_a_link_that_sets_the_password(
        self, client, agent_membership, monkeypatch, django_capture_on_commit_callbacks
    ):
        from apps.accounts import tasks

        queued = []
        monkeypatch.setattr(tasks.password_reset_send, "apply_async", lambda args, **_: queued.append(*args))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("password_reset"), {"email": agent_membership.user.email})
        assert mail.outbox == [] and queued == [agent_membership.user.email]  # mailed by the worker
        assert tasks.password_reset_send(*queued) == 1
        assert len(mail.outbox) == 1
        link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
        form_page = client.get(link, follow=True)
        new_password = "Brand-new-secret-77"
        client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
        agent_membership.user.refresh_from_db()
        assert agent_membership.user.check_password(new_password)


class TestNavigationByRole:
    @pytest.mark.parametrize(
        ("role", "shown", "hidden"),
        [
            (Role.ADMIN, ["Settings"], []),
            (Role.AGENT, [], ["Settings", "Campaigns"]),
            (Role.MARKETER, [], ["Settings", "Inbox", "Tickets"]),
        ],
    )
    def test_menu_shows_only_what_the_role_may_use(self, member_client, merchant, role, shown, hidden):
        html = member_client(MembershipFactory(merchant=merchant, role=role)).get(reverse("core:dashboard")).content
        nav = re.search(rb'<nav aria-label="Main".*?</nav>', html, re.S).group(0).decode()
        for label in shown:
            assert f">{label}<" in nav
        for label in hidden:
            assert f">{label}<" not in nav

    @pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETER])
    def test_settings_pages_are_403_for_non_admins(self, member_client, merchant, role):
        client = member_client(MembershipFactory(merchant=merchant, role=role))
        for name in ("merchants:settings", "merchants:members", "merchants:api_keys"):
            assert client.get(reverse(name)).status_code == 403


class TestMerchantSwitcher:
    def test_member_of_two_merchants_switches(self, member_client, admin_membership):
        second = MerchantFactory(name="Second Shop")
        MembershipFactory(merchant=second, user=admin_membership.user, role=Role.AGENT)
        client = member_client(admin_membership)
        response = client.post(reverse("merchants:switch"), {"merchant_id": second.pk}, follow=True)
        assert "Second Shop" in response.content.decode()
        assert client.get("/api/v1/merchant/").json()["id"] == second.pk

    def test_switching_to_a_foreign_merchant_is_404(self, member_client, admin_membership, other_merchant):
        client = member_client(admin_membership)
        assert client.post(reverse("merchants:switch"), {"merchant_id": other_merchant.pk}).status_code == 404
        assert client.post(reverse("merchants:switch"), {"merchant_id": "x"}).status_code == 404
        assert client.get("/api/v1/merchant/").json()["id"] == admin_membership.merchant_id


class TestMembersPage:
    def test_invite_change_role_remove(self, member_client, admin_membership, django_capture_on_commit_callbacks):
        client = member_client(admin_membership)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("merchants:members"), {"email": "new@x.test", "role": "agent"})
        assert Invitation.objects.filter(email="new@x.test").exists()
        assert mail.outbox[0].to == ["new@x.test"]
        other = MembershipFactory(merchant=admin_membership.merchant, role=Role.AGENT)
        client.post(reverse("merchants:member_role", args=[other.pk]), {"role": "marketer"})
        other.refresh_from_db()
        assert other.role == Role.MARKETER
        client.post(reverse("merchants:member_remove", args=[other.pk]))
        assert not Membership.objects.filter(pk=other.pk).exists()

    def test_bad_invitation_shows_field_errors(self, member_client, admin_membership):
        response = member_client(admin_membership).post(reverse("merchants:members"), {"email": "x", "role": "god"})
        assert response.status_code == 400
        assert not Invitation.objects.exists()

    def test_member_names_are_escaped(self, member_client, admin_membership):
        MembershipFactory(merchant=admin_membership.merchant, user__full_name="<script>alert(1)</script>")
        html = member_client(admin_membership).get(reverse("merchants:members")).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


class TestInvitationAcceptPage:
    def test_new_person_sets_a_password_and_lands_on_the_dashboard(self, client, merchant):
        sent = invitation_create(merchant=merchant, email="joiner@x.test", role=Role.AGENT, invited_by=None)
        url = reverse("merchants:invitation_accept", args=[sent.token])
        bad = client.post(url, {"password1": "Pass-word-one-1", "password2": "different"})
        assert bad.status_code == 400
        assert not Membership.objects.filter(user__email="joiner@x.test").exists()
        response = client.post(
            url, {"full_name": "Jo", "password1": "Pass-word-one-1", "password2": "Pass-word-one-1"}, follow=True
        )
        assert response.redirect_chain[-1][0] == reverse("core:dashboard")
        assert Membership.objects.get(user__email="joiner@x.test").role == Role.AGENT
        assert client.get(url).status_code == 404  # used once

    def test_an_existing_account_signs_in_then_joins_and_keeps_its_password(self, client, merchant):
        existing = UserFactory(email="owner@x.test")
        sent = invitation_create(merchant=merchant, email="owner@x.test", role=Role.AGENT, invited_by=None)
        url = reverse("merchants:invitation_accept", args=[sent.token])
        page = client.get(url)
        sign_in = f"{reverse('login')}?next={url.replace('/', '%2F')}"
        assert page.status_code == 200 and page.context["sign_in_url"] == sign_in
        assert 'name="password1"' not in page.content.decode()
        taken = client.post(url, {"password1": "Attacker-chosen-9", "password2": "Attacker-chosen-9"})
        assert taken.status_code == 409 and "sign in to accept" in taken.content.decode()
        existing.refresh_from_db()
        assert existing.check_password(PASSWORD) and "_auth_user_id" not in client.session
        assert not Membership.objects.filter(user=existing).exists()
        signed_in = client.post(sign_in, {"username": existing.email, "password": PASSWORD})
        assert signed_in.status_code == 302 and signed_in["Location"] == url
        assert client.get(url).context["signed_in_as_invitee"] is True
        assert client.post(url).status_code == 302
        assert Membership.objects.get(user=existing, merchant=merchant).role == Role.AGENT

    def test_unknown_token_is_404(self, client):
        assert client.get(reverse("merchants:invitation_accept", args=["nope"])).status_code == 404


class TestApiKeysPage:
    def test_key_is_shown_once_then_revoked(self, member_client, admin_membership):
        client = member_client(admin_membership)
        data = {"name": "Shop backend", "scopes": ["read", "messaging"]}
        html = client.post(reverse("merchants:api_keys"), data).content.decode()
        plain = re.search(r'value="(chk_[^"]+)"', html).group(1)
        key = api_key_authenticate(plain)
        assert (key.name, key.scopes) == ("Shop backend", ["read", "messaging"])
        assert plain not in client.get(reverse("merchants:api_keys")).content.decode()
        client.post(reverse("merchants:api_key_revoke", args=[key.pk]))
        assert api_key_authenticate(plain) is None
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None

    def test_a_key_without_scopes_is_an_error(self, member_client, admin_membership):
        response = member_client(admin_membership).post(reverse("merchants:api_keys"), {"name": "Shop"})
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()
        assert not ApiKey.objects.exists()

    def test_blank_name_is_an_error(self, member_client, admin_membership):
        response = member_client(admin_membership).post(reverse("merchants:api_keys"), {"name": ""})
        assert response.status_code == 400
        assert not ApiKey.objects.exists()


class TestInvitationDefaults:
    def test_the_invitation_form_preselects_the_agent_role(self, member_client, admin_membership):
        html = member_client(admin_membership).get(reverse("merchants:members")).content.decode()
        assert '<option value="agent" selected>Agent</option>' in html
        assert '<option value="admin">Admin</option>' in html
