"""At a phone's size (390x844) the menu folds behind a button; on a desktop it is always open.

That no main page is wider than a phone is checked, per role, by the walk in `test_main_pages.py`.
"""

from __future__ import annotations

import pytest

from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.e2e.main_pages import build_shop, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portal():
    # The real ASGI app, so the inbox's and the campaign page's sockets connect as in production.
    with portal_server() as server:
        yield server


PHONE = {"width": 390, "height": 844}


def test_the_menu_folds_behind_a_button_on_a_phone(portal, browser):
    shop = build_shop()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, portal.url, shop.emails[Role.AGENT])
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not nav.get_by_role("link", name="Inbox").is_visible()

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    nav.get_by_role("link", name="Inbox").click()
    page.wait_for_url(f"{portal.url}/inbox/**")
    assert page.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "false"
    context.close()


def test_the_menu_is_always_open_on_a_desktop(portal, browser):
    shop = build_shop()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, portal.url, shop.emails[Role.AGENT])
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").is_visible()
    context.close()
