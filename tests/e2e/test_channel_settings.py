"""An admin connects a WhatsApp number through Settings in a real browser, copies the webhook URL and the
verify token with the copy buttons, and the widget preview draws the real widget under the portal's CSP."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.conversations.models import Channel
from apps.core.roles import Role
from tests.conversations.live_support import webchat_channel
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clipboard_page(browser, live_server):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"], base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.violations = violations
    yield page
    context.close()


def _sign_in(page, live_server, email: str) -> None:
    page.goto(reverse("login"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_admin_connects_whatsapp_and_copies_the_webhook(clipboard_page, live_server):
    page = clipboard_page
    merchant = MerchantFactory(name="Tienda Sol")
    MembershipFactory(merchant=merchant, role=Role.ADMIN, user__email="boss@sol.test")
    _sign_in(page, live_server, "boss@sol.test")

    page.goto(reverse("merchants:settings"))
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Channels").click()
    page.get_by_role("link", name="Connect WhatsApp").click()
    generated = page.get_by_label("Verify token").input_value()
    assert len(generated) == 32
    page.get_by_label("Name").fill("Sol WhatsApp")
    page.get_by_label("Phone number id").fill("not digits")
    page.get_by_label("Access token").fill("EAAG-secret-token")
    page.get_by_label("App secret").fill("the-app-secret")
    page.get_by_role("button", name="Connect").click()
    assert page.get_by_text("Meta's phone number id is digits only").is_visible()
    assert page.get_by_label("Access token").input_value() == ""  # a secret is never sent back

    page.get_by_label("Phone number id").fill("109876543210987")
    page.get_by_label("Access token").fill("EAAG-secret-token")
    page.get_by_label("App secret").fill("the-app-secret")
    page.get_by_role("button", name="Connect").click()
    page.get_by_role("heading", name="Webhook for Meta").wait_for()

    channel = Channel.objects.get()
    webhook = f"{live_server.url}/webhooks/whatsapp/{channel.pk}/"
    assert page.get_by_label("Callback URL").input_value() == webhook
    assert page.get_by_label("Verify token", exact=True).first.input_value() == generated
    copy_buttons = page.get_by_role("button", name="Copy")
    copy_buttons.nth(0).click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == webhook
    copy_buttons.nth(1).click()
    page.wait_for_function(f"navigator.clipboard.readText().then(t => t === {generated!r})")
    assert "EAAG-secret-token" not in page.content() and "the-app-secret" not in page.content()
    assert page.violations == []


def test_the_widget_preview_draws_the_widget_under_the_portals_csp(clipboard_page, live_server):
    page = clipboard_page
    merchant = MerchantFactory(name="Tienda Sol")
    MembershipFactory(merchant=merchant, role=Role.ADMIN, user__email="boss@sol.test")
    channel = webchat_channel(merchant, name="Sol chat", settings={"widget_title": "Hola, Sol"})
    _sign_in(page, live_server, "boss@sol.test")
    page.goto(reverse("conversations:widget_preview", args=[channel.pk]))
    launcher = page.locator("#charla-widget").get_by_role("button", name="Hola, Sol")
    launcher.wait_for()
    # Styled by its constructed sheet: fixed in the corner, not an unstyled button in the flow.
    assert launcher.evaluate("b => getComputedStyle(b).position") == "fixed"
    assert page.violations == []
