import pytest

from apps.core.roles import Role
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_and_sees_the_dashboard(live_server, page):
    merchant = MerchantFactory(name="Browser Shop")
    membership = MembershipFactory(merchant=merchant, role=Role.ADMIN, user__email="boss@browser.test")

    page.goto(f"{live_server.url}/")
    page.get_by_label("E-mail").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Browser Shop"
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Settings").is_visible()
    # htmx is served locally by WhiteNoise, not from a CDN
    assert page.evaluate("typeof window.htmx") == "object"


def test_wrong_password_keeps_the_person_on_the_login_page(live_server, page):
    MembershipFactory(role=Role.AGENT, user__email="agent@browser.test")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("agent@browser.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert "/accounts/login/" in page.url
