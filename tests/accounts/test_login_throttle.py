"""Failed sign-ins lock an account from an IP (5 in 15 minutes) and an IP across accounts (20), on the portal's
sign-in page and the admin's; the right password is refused while locked; admins unlock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.factories.merchants import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins. Try again in 15 minutes or ask an admin to unlock."
WRONG = "Please enter a correct e-mail address and password. Note that both fields may be case-sensitive."


@pytest.fixture(autouse=True)
def at_a_window_start(time_machine):
    """Windows are fixed (every 15 minutes): start at one so the message's minutes are known."""
    time_machine.move_to(datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC))


def sign_in(client, email, password, ip="203.0.113.5", url=None):
    return client.post(url or reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client, agent_membership):
    email = agent_membership.user.email
    answers = [sign_in(client, email, f"guess-{n}") for n in range(30)]
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 25
    assert errors(answers[4]) == [WRONG] and errors(answers[5]) == [LOCKED]
    right = sign_in(client, email, PASSWORD)
    assert right.status_code == 429 and errors(right) == [LOCKED]
    assert LOCKED in right.content.decode()
    assert not signed_in(client)


def test_the_lock_is_per_account_and_ip_so_the_member_still_signs_in_elsewhere(client, agent_membership):
    email = agent_membership.user.email
    for n in range(5):
        sign_in(client, email, f"guess-{n}")
    assert sign_in(client, email, PASSWORD).status_code == 429
    other = UserFactory()  # another account from the attacker's IP is not locked by this one
    assert sign_in(Client(), other.email, PASSWORD).status_code == 302
    elsewhere = Client()
    assert sign_in(elsewhere, email, PASSWORD, ip="198.51.100.20").status_code == 302
    assert signed_in(elsewhere)


def test_one_ip_trying_many_accounts_is_locked_for_all_of_them(client):
    victims = UserFactory.create_batch(5)
    for n in range(20):
        assert sign_in(client, victims[n % 5].email, f"guess-{n}").status_code == 200
    fresh = UserFactory()
    refused = sign_in(client, fresh.email, PASSWORD)
    assert refused.status_code == 429 and errors(refused) == [LOCKED] and not signed_in(client)
    assert sign_in(Client(), fresh.email, PASSWORD, ip="198.51.100.21").status_code == 302


def test_a_successful_sign_in_clears_the_accounts_count(client, agent_membership):
    email = agent_membership.user.email
    for n in range(4):
        sign_in(client, email, f"guess-{n}")
    assert sign_in(client, email, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for n in range(4):
        assert sign_in(client, email, f"again-{n}").status_code == 200
    assert sign_in(client, email, PASSWORD).status_code == 302


def test_the_lock_uses_the_address_case_insensitively(client, agent_membership):
    email = agent_membership.user.email
    for n in range(5):
        sign_in(client, email.upper() if n % 2 else email, f"guess-{n}")
    assert sign_in(client, email.upper(), PASSWORD).status_code == 429


def test_the_admin_sign_in_is_throttled_with_the_same_buckets(client):
    root = UserFactory(is_superuser=True, is_staff=True)
    admin_login = reverse("admin:login")
    for n in range(3):
        assert sign_in(client, root.email, f"guess-{n}", url=admin_login).status_code == 200
    for n in range(2):  # the portal's page counts into the same account+IP bucket
        sign_in(client, root.email, f"portal-{n}")
    refused = sign_in(client, root.email, PASSWORD, url=admin_login)
    assert refused.status_code == 200 and errors(refused) == [LOCKED] and not signed_in(client)


def test_the_unlock_command_lifts_an_account_lock_on_every_ip(client, agent_membership):
    email = agent_membership.user.email
    for ip in ("203.0.113.5", "203.0.113.6"):
        for n in range(5):
            sign_in(client, email, f"guess-{n}", ip=ip)
        assert sign_in(client, email, PASSWORD, ip=ip).status_code == 429
    call_command("signin_unlock", "--email", email.upper())
    assert sign_in(Client(), email, PASSWORD, ip="203.0.113.6").status_code == 302
    assert sign_in(Client(), email, PASSWORD, ip="203.0.113.5").status_code == 302


def test_the_unlock_command_lifts_an_ip_lock(client):
    for n in range(20):
        sign_in(client, f"nobody{n}@example.test", "guess")
    user = UserFactory()
    assert sign_in(client, user.email, PASSWORD).status_code == 429
    call_command("signin_unlock", "--ip", "203.0.113.5")
    assert sign_in(client, user.email, PASSWORD).status_code == 302


def test_the_unlock_command_refuses_nonsense():
    with pytest.raises(CommandError, match=r"^Give --email, --ip or both\.$"):
        call_command("signin_unlock")
    with pytest.raises(CommandError, match="is not an IP address"):
        call_command("signin_unlock", "--ip", "not-an-ip")


def test_a_merchant_admin_unlocks_their_member_but_not_another_merchants(client, merchant, other_merchant):
    admin = MembershipFactory(merchant=merchant, role="admin").user
    ours = MembershipFactory(merchant=merchant, role="agent").user
    theirs = MembershipFactory(merchant=other_merchant, role="agent").user
    for user in (ours, theirs):
        for n in range(5):
            sign_in(client, user.email, f"guess-{n}")
    admin_client = Client()
    admin_client.force_login(admin)
    data = {"action": "unlock_sign_in", ACTION_CHECKBOX_NAME: [ours.pk, theirs.pk], "index": 0}
    response = admin_client.post(reverse("admin:accounts_user_changelist"), data, follow=True)
    assert "Sign-in unlocked for 1 account(s)." in response.content.decode()
    assert sign_in(Client(), ours.email, PASSWORD).status_code == 302
    assert sign_in(Client(), theirs.email, PASSWORD).status_code == 429


def test_without_a_client_address_accounts_still_lock_but_clients_share_no_bucket(client, agent_membership):
    for n in range(25):
        sign_in(client, f"nobody{n}@example.test", "guess", ip="")
    fresh = UserFactory()
    assert sign_in(Client(), fresh.email, PASSWORD, ip="").status_code == 302
    for n in range(5):
        sign_in(client, agent_membership.user.email, f"guess-{n}", ip="")
    assert sign_in(client, agent_membership.user.email, PASSWORD, ip="").status_code == 429
