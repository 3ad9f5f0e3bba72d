"""axe-core (bundled by axe-playwright-python) over every main page, as each role that may open it.

No serious or critical violation is allowed; the assertion names the page, the rule and the elements.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.e2e.main_pages import build_shop, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BLOCKING = {"serious", "critical"}


@pytest.fixture
def portal():
    with portal_server() as server:
        yield server


def _blocking(page, axe: Axe, where: str) -> list[str]:
    found = []
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"]]
            found.append(f"{where}: {violation['id']} ({violation['impact']}) at {targets}")
    return found


def test_the_main_pages_have_no_serious_accessibility_violation(portal, browser):
    shop = build_shop()
    axe = Axe()
    violations = []
    checked = 0
    for role in (Role.ADMIN, Role.AGENT, Role.MARKETER):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, portal.url, shop.emails[role])
        for main_page in shop.pages_for(role):
            response = page.goto(f"{portal.url}{main_page.url}")
            assert response.status == 200, f"{role}: {main_page.name} answered {response.status}"
            violations += _blocking(page, axe, f"{role}: {main_page.name}")
            checked += 1
        context.close()
    assert violations == [], "\n".join(violations)
    assert checked == 23 + 8 + 10


def test_the_sign_in_page_has_no_serious_accessibility_violation(portal, page):
    page.goto(f"{portal.url}/accounts/login/")
    assert _blocking(page, Axe(), "sign in") == []


def test_the_phone_menu_and_the_inbox_menus_have_no_serious_accessibility_violation(portal, browser):
    shop = build_shop()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, portal.url, shop.emails[Role.ADMIN])
    page.get_by_role("button", name="Menu").click()
    found = _blocking(page, Axe(), "phone menu open")
    conversation = next(p for p in shop.pages if p.name == "conversation")
    page.goto(f"{portal.url}{conversation.url}")
    for summary in page.locator("details.action-menu > summary").all():
        summary.click()
    found += _blocking(page, Axe(), "conversation with every action menu open")
    context.close()
    assert found == [], "\n".join(found)
