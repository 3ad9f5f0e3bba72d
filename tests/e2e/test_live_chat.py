"""A customer on a shop page with the widget and an agent in the inbox talk both ways, live.

The portal runs under uvicorn (the real ASGI app, WebSockets included) in a thread of this process,
against the test database; the shop page is served from another origin by a tiny static server.
"""

from __future__ import annotations

import http.server
import threading
import uuid
from contextlib import contextmanager

import pytest

from apps.conversations.models import Message
from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.conversations.live_support import redis_layer, session_cookie, webchat_channel  # noqa: F401
from tests.factories.merchants import MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


@contextmanager
def shop_site(snippet: str):
    """The merchant's own site (another origin: localhost instead of 127.0.0.1) with the widget snippet."""
    page = f"<!doctype html><html><head><title>Shop</title></head><body><h1>Acme shop</h1>{snippet}</body></html>"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_customer_and_agent_talk_live_both_ways(browser):
    merchant = MerchantFactory(name="Live Shop")
    membership = MembershipFactory(merchant=merchant, role=Role.AGENT, user__full_name="Agent Ana")
    with portal_server() as server:
        portal = server.url
        channel = webchat_channel(merchant, allowed_origins=[], name="Web chat")
        snippet = f'<script src="{portal}/inbox/widget/{channel.public_key}.js" async></script>'
        with shop_site(snippet) as shop:
            channel.allowed_origins = [shop]
            channel.save(update_fields=["allowed_origins"])
            agent_ctx, customer_ctx = browser.new_context(), browser.new_context()
            try:
                agent, customer = _talk(portal, shop, membership, agent_ctx, customer_ctx)
                _reconnect_loses_nothing(server, agent, customer, channel, membership)
            finally:
                agent_ctx.close()
                customer_ctx.close()


def _talk(portal, shop, membership, agent_ctx, customer_ctx):
    agent_ctx.add_cookies([{"name": "sessionid", "value": session_cookie(membership.user), "url": portal}])
    agent = agent_ctx.new_page()
    agent.set_default_timeout(15_000)
    customer = customer_ctx.new_page()
    customer.set_default_timeout(15_000)

    # The agent watches the whole inbox before the customer has written anything.
    agent.goto(f"{portal}/inbox/?view=all")
    live = agent.locator("#live-status")
    live.filter(has_text="Live").wait_for()
    assert live.get_attribute("aria-live") == "polite"

    customer.goto(shop)
    customer.locator("#charla-widget button.launcher").click()
    customer.locator("#charla-widget .status").filter(has_text="Online").wait_for()
    customer.locator("#charla-widget textarea").fill("Hello <b>from</b> the shop")
    customer.locator("#charla-widget textarea").press("Enter")

    # The new conversation appears in the agent's list without a reload.
    row = agent.locator("#conversation-list .conversation-row").first
    row.filter(has_text="Hello <b>from</b> the shop").wait_for()
    row.locator("a").click()
    history = agent.locator("#message-list")
    history.locator(".msg.inbound").filter(has_text="Hello <b>from</b> the shop").wait_for()
    assert history.locator("b").count() == 0  # shown as text, never as markup
    live.filter(has_text="Live").wait_for()

    # Customer → agent, live, in the open conversation; typing shows on the way.
    customer.locator("#charla-widget textarea").press_sequentially("Where is my order?", delay=5)
    agent.locator("#typing-indicator").filter(has_text="is typing").wait_for()
    customer.locator("#charla-widget textarea").press("Enter")
    history.locator(".msg.inbound").filter(has_text="Where is my order?").wait_for()

    # Agent → customer, live; the customer's window marks it read, and the agent sees the tick.
    agent.locator("#id_text").press_sequentially("It ships <i>today</i>!", delay=5)
    customer.locator("#charla-widget .typing").filter(has_text="is typing").wait_for()
    agent.get_by_role("button", name="Send").click()
    reply = customer.locator("#charla-widget .msg.outbound").filter(has_text="It ships <i>today</i>!")
    reply.wait_for()
    assert customer.locator("#charla-widget .log i").count() == 0
    history.locator(".msg.outbound .msg-status").filter(has_text="Read").wait_for()

    # A private note never reaches the customer.
    agent.locator("#id_is_note").check()
    agent.locator("#id_text").fill("internal: VIP customer")
    agent.get_by_role("button", name="Send").click()
    history.locator(".msg.note").filter(has_text="internal: VIP customer").wait_for()

    # The customer leaves; the agent writes meanwhile; the conversation is all there on return.
    customer.goto("about:blank")
    agent.locator("#id_is_note").uncheck()
    agent.locator("#id_text").fill("Anything else?")
    agent.get_by_role("button", name="Send").click()
    history.locator(".msg.outbound").filter(has_text="Anything else?").wait_for()
    customer.goto(shop)
    customer.locator("#charla-widget button.launcher").click()
    log = customer.locator("#charla-widget .log")
    log.filter(has_text="Anything else?").wait_for()
    bodies = log.locator(".msg").all_inner_texts()
    assert any("Where is my order?" in b for b in bodies) and any("It ships" in b for b in bodies)
    assert not any("VIP" in b for b in bodies)

    # And the customer's next message still lands in the same conversation, live.
    customer.locator("#charla-widget .status").filter(has_text="Online").wait_for()
    customer.locator("#charla-widget textarea").fill("No, thanks!")
    customer.locator("#charla-widget textarea").press("Enter")
    history.locator(".msg.inbound").filter(has_text="No, thanks!").wait_for()
    inbound = Message.objects.filter(direction="inbound").values_list("body", flat=True).order_by("id")
    assert list(inbound) == ["Hello <b>from</b> the shop", "Where is my order?", "No, thanks!"]
    return agent, customer


def _reconnect_loses_nothing(server, agent, customer, channel, membership):
    """The server goes away; events happen meanwhile; both sides reconnect and catch up by seq."""
    from django.utils import timezone

    from apps.conversations import services
    from apps.conversations.models import Conversation

    conversation = Conversation.objects.get(channel=channel)
    server.stop()
    agent.locator("#live-status").filter(has_text="Reconnecting").wait_for()
    customer.locator("#charla-widget .status").filter(has_text="Reconnecting").wait_for()
    services.message_send(conversation=conversation, author=membership.user, text="Sent while you were away")
    services.message_receive(
        channel=channel, contact=conversation.contact, provider_message_id=f"webchat:{uuid.uuid4()}", kind="text",
        body="Typed on another tab while offline", attachments=[], received_at=timezone.now(),
        visitor_id=conversation.visitor_id,  # another tab of the same browser: the same widget visitor
    )  # fmt: skip
    server.start()
    agent.locator("#live-status").filter(has_text="Live").wait_for(timeout=30_000)
    agent.locator("#message-list .msg.inbound").filter(has_text="Typed on another tab while offline").wait_for()
    agent.locator("#message-list .msg.outbound").filter(has_text="Sent while you were away").wait_for()
    customer.locator("#charla-widget .msg.outbound").filter(has_text="Sent while you were away").wait_for(
        timeout=30_000
    )
    customer.locator("#charla-widget .msg.inbound").filter(has_text="Typed on another tab while offline").wait_for()
    assert customer.locator("#charla-widget .msg").filter(has_text="Sent while you were away").count() == 1


def test_blocked_whatsapp_reply_offers_a_template_and_sends_it(browser):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories.campaigns import TemplateFactory
    from tests.factories.conversations import ChannelFactory, ConversationFactory

    merchant = MerchantFactory(name="Template Shop")
    membership = MembershipFactory(merchant=merchant, role=Role.AGENT)
    conversation = ConversationFactory(
        merchant=merchant,
        channel=ChannelFactory(merchant=merchant, kind="whatsapp"),
        contact__name="Ana López",
        last_inbound_at=timezone.now() - timedelta(days=3),
    )
    # A real approved utility template: the picker lists it and the send re-reads it (category included).
    template = TemplateFactory(
        merchant=merchant,
        name="order_ready",
        language="en_US",
        category="utility",
        body="Hi {{first_name}}, order {{order}} is ready.",
        buttons=[],
    )
    with portal_server() as server:
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session_cookie(membership.user), "url": server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{server.url}/inbox/c/{conversation.pk}/")
        page.locator("#live-status").filter(has_text="Live").wait_for()
        page.locator(".send-block").filter(has_text="more than 24 hours old").wait_for()
        page.locator("#id_template_id").select_option(str(template.pk))
        first_name = page.locator("#id_param_first_name")
        first_name.wait_for()
        assert first_name.input_value() == "Ana"  # prefilled from the contact
        page.locator("#id_param_order").press_sequentially("#42", delay=10)
        page.locator("#template-preview").filter(has_text="Hi Ana, order #42 is ready.").wait_for()
        page.get_by_role("button", name="Send template").click()
        page.locator("#message-list .msg.outbound").filter(has_text="Hi Ana, order #42 is ready.").wait_for()
        page.locator("#template-send").wait_for(state="detached")
        assert page.locator(".send-block").count() == 1  # still blocked for free text
        context.close()
    message = Message.objects.get(conversation=conversation)
    assert (message.kind, message.template_name, message.template_params) == (
        "template",
        "order_ready",
        {"first_name": "Ana", "order": "#42"},
    )


def test_double_opt_in_request_reaches_the_widget_with_a_working_link(browser):
    """A grant for the chat itself is asked for in the chat (an e-mail grant is asked for by e-mail)."""
    from apps.contacts.models import ConsentState

    merchant = MerchantFactory(name="Opt-in Shop", settings={"double_opt_in": True})
    with portal_server() as server:
        settings = {"prechat_enabled": True, "consent_channel": "webchat"}
        channel = webchat_channel(merchant, allowed_origins=[], settings=settings)
        snippet = f'<script src="{server.url}/inbox/widget/{channel.public_key}.js" async></script>'
        with shop_site(snippet) as shop:
            channel.allowed_origins = [shop]
            channel.save(update_fields=["allowed_origins"])
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(shop)
            page.locator("#charla-widget button.launcher").click()
            page.locator("#charla-name").fill("Ana")
            page.locator("#charla-email").fill("ana@example.test")
            page.locator("#charla-consent").check()
            page.get_by_role("button", name="Start chat").click()
            link = page.locator('#charla-widget .msg.outbound a[href*="/contacts/confirm/"]')
            link.wait_for()
            assert "reply YES" in page.locator("#charla-widget .msg.outbound").first.inner_text()
            with context.expect_page() as opened:
                link.click()
            confirm = opened.value
            confirm.get_by_role("button", name="Yes, confirm").click()
            confirm.wait_for_load_state()
            context.close()
    assert ConsentState.objects.get(channel="webchat").status == "granted"
