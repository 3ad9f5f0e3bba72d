"""axe-core (bundled by axe-playwright-python) where the main-pages walk does not look: the sign-in page,
the phone menu opened and the inbox's action menus opened. The main pages themselves are checked, per
role, by `test_main_pages.py`.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.e2e.main_pages import build_shop, sign_in
from tests.e2e.test_main_pages import axe_blocking

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal():
    with portal_server() as server:
        yield server


def test_the_sign_in_page_has_no_serious_accessibility_violation(portal, page):
    page.goto(f"{portal.url}/accounts/login/")
    assert axe_blocking(page, Axe(), "sign in") == []


def test_the_phone_menu_and_the_inbox_menus_have_no_serious_accessibility_violation(portal, browser):
    shop = build_shop()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, portal.url, shop.emails[Role.ADMIN])
    page.get_by_role("button", name="Menu").click()
    found = axe_blocking(page, Axe(), "phone menu open")
    conversation = next(p for p in shop.pages if p.name == "conversation")
    page.goto(f"{portal.url}{conversation.url}")
    for summary in page.locator("details.action-menu > summary").all():
        summary.click()
    found += axe_blocking(page, Axe(), "conversation with every action menu open")
    context.close()
    assert found == [], "\n".join(found)
