"""Every main page, as each role that may open it, in one walk through the real ASGI portal.

Each page is opened once and checked three ways, so the walk costs one page load per page and role:
- at a phone's size (390x844) nothing is wider than the screen (a long unbroken URL in a message and
  a ticket subject, a long contact name are what used to push the inbox to 1,706 px);
- under its Content-Security-Policy nothing is refused and our scripts ran (Chromium reports every
  refused script, style or handler on the console);
- at a desktop's size axe-core finds no serious or critical violation (the assertion names the page,
  the rule and the elements).
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.e2e.main_pages import build_shop, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING = {"serious", "critical"}
CSP_REPORTER = (
    "document.addEventListener('securitypolicyviolation', e => "
    "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.fixture
def portal():
    # The real ASGI app, so the inbox's and the campaign page's sockets connect as in production.
    with portal_server() as server:
        yield server


def csp_violations(context) -> list[str]:
    """Every CSP refusal any page of this browser context reports, as it happens."""
    seen: list[str] = []
    context.add_init_script(CSP_REPORTER)
    context.on(
        "console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None
    )
    return seen


def axe_blocking(page, axe: Axe, where: str) -> list[str]:
    found = []
    for violation in axe.run(page).response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [", ".join(node["target"]) for node in violation["nodes"]]
            found.append(f"{where}: {violation['id']} ({violation['impact']}) at {targets}")
    return found


def test_every_main_page_fits_a_phone_keeps_its_csp_and_has_no_serious_accessibility_violation(portal, browser):
    shop = build_shop()
    axe = Axe()
    too_wide, refused, inaccessible, no_script = [], [], [], []
    visited = 0
    for role in (Role.ADMIN, Role.AGENT, Role.MARKETER):
        context = browser.new_context(viewport=PHONE)
        violations = csp_violations(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, portal.url, shop.emails[role])
        for main_page in shop.pages_for(role):
            where = f"{role}: {main_page.name}"
            page.set_viewport_size(PHONE)
            response = page.goto(f"{portal.url}{main_page.url}")
            assert response.status == 200, f"{where} answered {response.status}"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], where
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide.append(f"{where} is {width}px wide")
            if page.evaluate("typeof window.htmx") != "object":
                no_script.append(where)
            page.set_viewport_size(DESKTOP)
            inaccessible += axe_blocking(page, axe, where)
            refused += [f"{where}: {text}" for text in violations]
            violations.clear()
            visited += 1
        context.close()
    assert too_wide == []
    assert refused == []
    assert no_script == []
    assert inaccessible == [], "\n".join(inaccessible)
    assert visited == 30 + 8 + 17  # admin, agent, marketer: every page each role may open
