"""SLA warnings and breaches reach the agents' sockets through portal.asgi.application (Redis layer).

The scenario runs on its own event loop in a worker thread, so it works whatever else holds the main thread's
loop in a full run (Playwright's sync API keeps one running for the session's browser).
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.tickets.models import Ticket
from apps.tickets.services import sla_check
from tests.conversations.live_support import (
    agent_socket,
    drain,
    receive,
    redis_layer,  # noqa: F401 - fixture
)
from tests.factories.conversations import ConversationFactory
from tests.factories.tickets import SlaPolicyFactory, make_ticket

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


def _overdue_ticket(merchant, assignee):
    SlaPolicyFactory(merchant=merchant)
    ticket = make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)], assignee=assignee)
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due_at=timezone.now() - timedelta(seconds=5))
    return ticket


async def _breach_scenario(membership) -> tuple[dict, list[dict], int]:
    socket = await agent_socket(membership.user, membership.merchant_id)
    await receive(socket, type_="hello")
    ticket = await sync_to_async(_overdue_ticket)(membership.merchant, membership.user)
    await sync_to_async(sla_check)()
    event = await receive(socket, type_="event")
    await sync_to_async(sla_check)()  # idempotent: nothing more is pushed
    later = [m for m in await drain(socket) if m.get("type") == "event"]
    await socket.disconnect()
    return event, later, ticket.pk


def test_breach_is_pushed_live_once(agent_membership):
    with ThreadPoolExecutor(1) as pool:
        event, later, ticket_id = pool.submit(asyncio.run, _breach_scenario(agent_membership)).result(timeout=30)
    assert event["kind"] == "ticket.sla_breach"
    assert event["payload"]["ticket_id"] == ticket_id
    assert event["payload"]["metric"] == "first_response"
    assert event["payload"]["assignee_id"] == agent_membership.user.pk
    assert later == []
