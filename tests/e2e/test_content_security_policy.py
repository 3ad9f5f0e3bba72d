"""Pages outside the main-pages walk (`test_main_pages.py`, which checks the CSP of every main page per
role) in a real browser under the Content-Security-Policy: nothing is refused.

Chromium reports every refused script, style or handler on the console ("Refused to ... because it
violates the following Content Security Policy directive"); the pages must produce none, and the
behaviours that used to be inline handlers (confirmations, the merchant switcher) must still work.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.roles import Role
from apps.merchants.models import Membership
from tests.factories.contacts import ContactFactory
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = ["conversations:widget_new", "api-docs", "admin:index"]


def _violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def _sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_the_pages_outside_the_walk_raise_no_csp_violation(live_server, page):
    merchant = MerchantFactory(name="CSP Shop")
    admin = MembershipFactory(merchant=merchant, role=Role.ADMIN, user__email="boss@csp.test")
    ContactFactory(merchant=merchant, name="Ana")
    violations = _violations(page)
    _sign_in(page, live_server, admin.user.email)
    for name in PAGES:
        response = page.goto(f"{live_server.url}{reverse(name)}")
        assert response.status == 200, name
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], name
        page.wait_for_load_state("networkidle")
        if name not in ("api-docs", "admin:index"):  # the portal's own pages: htmx and our script ran
            assert page.evaluate("typeof window.htmx") == "object", name
    assert violations == []


def test_confirmations_and_the_merchant_switcher_work_without_inline_handlers(live_server, page):
    merchant, other = MerchantFactory(name="First Shop"), MerchantFactory(name="Second Shop")
    admin = MembershipFactory(merchant=merchant, role=Role.ADMIN, user__email="boss@csp.test")
    MembershipFactory(merchant=other, role=Role.ADMIN, user=admin.user)
    agent = MembershipFactory(merchant=merchant, role=Role.AGENT, user__email="agent@csp.test")
    violations = _violations(page)
    _sign_in(page, live_server, admin.user.email)

    page.goto(f"{live_server.url}{reverse('merchants:members')}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(f"form[action='{reverse('merchants:member_remove', args=[agent.pk])}'] button").click()
    page.wait_for_timeout(300)
    assert Membership.objects.filter(pk=agent.pk).exists()  # dismissed: nothing was posted

    heading = page.get_by_role("heading", level=1)
    page.goto(f"{live_server.url}/")
    first = heading.inner_text()
    page.locator("#merchant-switch").select_option(
        label=f"{'Second Shop' if first == 'First Shop' else 'First Shop'} (admin)"
    )
    page.wait_for_load_state("networkidle")
    assert heading.inner_text() != first
    assert violations == []
