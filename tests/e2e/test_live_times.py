"""A message inserted live by the inbox script shows the same time, in the same format and zone, as the
server renders for it after a reload (issue 13, point 5)."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations import services
from apps.conversations.models import Message
from apps.core import timefmt
from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.conversations.live_support import redis_layer, session_cookie, webchat_channel  # noqa: F401
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


def test_live_inserted_message_time_matches_the_server_rendered_one(page):
    # A zone far from UTC and from the browser's (which runs in UTC), so a wrong zone cannot pass.
    merchant = MerchantFactory(name="Time Shop", timezone="Asia/Kolkata")
    membership = MembershipFactory(merchant=merchant, role=Role.AGENT)
    channel = webchat_channel(merchant)
    conversation = ConversationFactory(
        merchant=merchant, channel=channel, last_message_at=timezone.now() - timedelta(hours=3)
    )
    with portal_server() as server:
        page.context.add_cookies([{"name": "sessionid", "value": session_cookie(membership.user), "url": server.url}])
        page.goto(f"{server.url}/inbox/c/{conversation.pk}/?view=all")
        page.locator("#live-status").filter(has_text="Live").wait_for()
        row_time = page.locator(f"#row-{conversation.pk} time[data-relative]")
        assert row_time.inner_text() == "3 h"
        services.message_receive(
            channel=channel, contact=conversation.contact, provider_message_id=f"webchat:{uuid.uuid4()}",
            kind="text", body="Arrived live", attachments=[], received_at=timezone.now(),
            visitor_id=conversation.visitor_id,
        )  # fmt: skip
        message = Message.objects.get(body="Arrived live")
        live = page.locator(f"#msg-{message.pk} .msg-meta time")
        live.wait_for()
        live_text = live.inner_text()
        # The list row's relative time is rebuilt by the script from the same table: "3 h" became "now".
        row_time.filter(has_text="now").wait_for()
        page.reload()
        rendered = page.locator(f"#msg-{message.pk} .msg-meta time").inner_text()
    expected = timefmt.absolute(message.created_at, tz=zoneinfo.ZoneInfo("Asia/Kolkata"), locale="en")
    assert live_text == rendered == expected
