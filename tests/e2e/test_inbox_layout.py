"""The inbox as an agent meets it on a phone: unassigned chats first, tab counts, compact action menus."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.conversations.models import Conversation
from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.e2e.main_pages import sign_in
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import MembershipFactory, MerchantFactory
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_picks_up_a_new_chat_from_the_phone(browser):
    merchant = MerchantFactory(name="Menu Shop")
    agent = MembershipFactory(
        merchant=merchant, role=Role.AGENT, user__email="agent@menu.test", user__full_name="Marta Agent"
    )
    waiting = ConversationFactory(merchant=merchant, contact__name="Pablo Ruiz", last_message_preview="¿Hola?")
    ConversationFactory(merchant=merchant, assignee=agent.user, contact__name="Already Mine")
    with portal_server() as portal:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, portal.url, agent.user.email)
        page.goto(f"{portal.url}/inbox/")

        tabs = page.get_by_role("navigation", name="Conversation views")
        expect(tabs.get_by_role("link", name="Unassigned 1")).to_have_attribute("aria-current", "page")
        expect(tabs.get_by_role("link", name="Mine 1")).to_be_visible()
        rows = page.locator("#conversation-list .contact-name")
        expect(rows).to_have_text(["Pablo Ruiz"])

        page.get_by_role("link", name="Pablo Ruiz").click()
        assign_form = page.locator("form[action$='/assign/']")
        expect(assign_form).to_be_hidden()
        page.locator("summary", has_text="Assign").click()
        expect(assign_form).to_be_visible()
        page.get_by_label("Assign to").select_option(label="Marta Agent")
        assign_form.get_by_role("button", name="Assign").click()

        wait_until(lambda: Conversation.objects.get(pk=waiting.pk).assignee_id == agent.user_id, 10, what="assign")
        expect(page.locator("#conversation-assignee")).to_have_text("Marta Agent")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        context.close()
