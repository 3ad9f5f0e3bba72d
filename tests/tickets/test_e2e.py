"""A ticket from a conversation to a CSAT answer in headless Chromium, with the live SLA countdown."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from apps.tickets.models import Ticket
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories.conversations import ConversationFactory, MessageFactory
from tests.factories.tickets import SlaPolicyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def in_browser(scenario, *args):
    """Run `scenario(page, *args)` with a fresh Chromium on a worker thread: Playwright's sync API needs a thread
    without a running event loop, whatever the rest of the suite (a session browser, async tests) left behind."""

    def run():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(15_000)
            try:
                return scenario(page, *args)
            finally:
                context.close()  # closes the keep-alive connections the live server's threads hold
                browser.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=120)


def _session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_agent_runs_a_ticket_from_conversation_to_csat(live_server, merchant, agent_membership, settings):
    settings.PUBLIC_BASE_URL = live_server.url  # the survey link points at this server
    SlaPolicyFactory(merchant=merchant, first_response_minutes=120, resolution_minutes=600)
    conversation = ConversationFactory(merchant=merchant)
    MessageFactory(conversation=conversation, body="My order arrived broken")
    session = _session(agent_membership.user)
    in_browser(_agent_flow, live_server.url, session, conversation.pk)
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.csat_rating, ticket.first_response_breached) == ("solved", 5, False)


def _agent_flow(page, base_url: str, session: str, conversation_id: int) -> None:
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])

    # One click: the API the inbox button posts to (a form here, as the inbox would render it).
    page.goto(f"{base_url}/tickets/")
    page.evaluate(
        """([url, token]) => { const f = document.createElement('form'); f.method = 'post'; f.action = url;
        const i = document.createElement('input'); i.name = 'csrfmiddlewaretoken'; i.value = token; f.appendChild(i);
        document.body.appendChild(f); f.submit(); }""",
        [
            f"/tickets/from-conversation/{conversation_id}/",
            page.evaluate("document.cookie.match(/csrftoken=([^;]+)/)[1]"),
        ],
    )
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    assert "My order arrived broken" in page.locator("pre.transcript").inner_text()

    countdown = page.locator("[data-due]").first
    first = countdown.inner_text()
    assert first.startswith("due in 1h 59m")
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != first  # updated every second

    page.get_by_label("Message").fill("Sorry! A new one is on its way.")
    page.get_by_label("Send to the customer (public reply)").check()
    page.get_by_role("button", name="Add").click()
    assert page.get_by_text("Reply sent.").is_visible()
    assert page.locator(".sla-met").count() == 1  # first response met

    page.get_by_label("Status").select_option("solved")
    page.get_by_role("button", name="Save").click()
    csat_link = page.get_by_label("Survey link").input_value()

    customer = page.context.browser.new_context().new_page()
    customer.goto(csat_link)
    customer.get_by_label("5").check()
    customer.get_by_label("Comment (optional)").fill("Fast and kind")
    customer.get_by_role("button", name="Send").click()
    assert customer.get_by_text("Thank you for your answer!").is_visible()
    customer.context.close()

    page.reload()
    assert page.locator(".csat-rating").inner_text().startswith("Rated 5/5")
