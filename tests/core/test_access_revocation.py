"""Sockets stop streaming when access ends: through portal.asgi.application, on both channel layers.

Each scenario connects a real socket, proves it streams, changes access the way the portal does (a service,
the sign-out view, or a write outside the services), then expects the close code and not one more frame.
"""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.campaigns import progress
from apps.conversations import relay, services
from apps.core.roles import Role
from apps.merchants.models import Membership
from apps.merchants.services import membership_remove, membership_set_role
from tests.conversations.live_support import (
    drain,
    expect_close,
    receive,
    redis_layer,  # noqa: F401 - fixture
    visitor,
    visitor_contact,
    webchat_channel,
    widget_auth,
    widget_socket,
)
from tests.factories.campaigns import CampaignFactory
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

REVOKED_WITHIN = 3  # seconds: expect_close's timeout, the brief's "within seconds"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def layer(request):
    """Every test runs on the embedded in-memory layer (tests/conftest.py) and on Redis (the production layer)."""
    if request.param == "redis":
        request.getfixturevalue("redis_layer")
    yield request.param
    await relay.relay_stop()


def _signed_in(user, merchant_id: int) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["merchant_id"] = merchant_id
    session.save()
    return client


async def _socket(path: str, client: Client) -> WebsocketCommunicator:
    from portal.asgi import application

    cookie = client.cookies["sessionid"].value
    headers = [(b"origin", b"http://testserver"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=REVOKED_WITHIN)
    assert connected
    return communicator


async def inbox_socket(membership) -> tuple[WebsocketCommunicator, Client]:
    client = await sync_to_async(_signed_in)(membership.user, membership.merchant_id)
    socket = await _socket("/ws/inbox/", client)
    assert (await receive(socket, type_="hello"))["merchant_id"] == membership.merchant_id
    return socket, client


def inbound(conversation, text: str = "Hello"):
    return services.message_receive(
        channel=conversation.channel,
        contact=conversation.contact,
        provider_message_id=f"wamid.{uuid.uuid4().hex}",
        kind="text",
        body=text,
        attachments=[],
        received_at=timezone.now(),
    )


async def bodies(socket) -> list[str]:
    return [e["payload"]["body"] for e in await drain(socket) if e.get("kind") == "message.created"]


async def streams(socket, conversation, text: str) -> None:
    await sync_to_async(inbound)(conversation, text)
    assert await bodies(socket) == [text]


async def closed_and_silent(socket, code: int, conversation) -> None:
    """Closed with `code`, and an event published afterwards never reaches the client."""
    await expect_close(socket, code)
    await sync_to_async(inbound)(conversation, "after the close")
    assert await socket.receive_nothing(timeout=0.5)


# --------------------------------------------------------------------------- the inbox
async def test_removed_member_is_closed_4403_and_receives_nothing_more(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    await streams(socket, conversation, "before the removal")
    await sync_to_async(membership_remove)(membership=agent_membership)
    await closed_and_silent(socket, 4403, conversation)


async def test_agent_made_marketer_loses_the_inbox_and_is_closed_4403(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    await streams(socket, conversation, "while an agent")
    await sync_to_async(membership_set_role)(membership=agent_membership, role=Role.MARKETER)
    await closed_and_silent(socket, 4403, conversation)


async def test_a_role_change_that_keeps_the_inbox_keeps_the_socket_open(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    await sync_to_async(membership_set_role)(membership=agent_membership, role=Role.ADMIN)
    assert await socket.receive_nothing(timeout=0.5)  # re-checked, still allowed: no close
    await streams(socket, conversation, "still an admin of the inbox")
    await socket.disconnect()


async def test_a_refused_removal_leaves_the_last_admins_socket_open(layer, admin_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=admin_membership.merchant)
    socket, _ = await inbox_socket(admin_membership)
    with pytest.raises(ValidationError) as excinfo:
        await sync_to_async(membership_remove)(membership=admin_membership)
    assert excinfo.value.message_dict == {"member": ["The last admin cannot be removed."]}
    assert await socket.receive_nothing(timeout=0.5)
    await streams(socket, conversation, "still the admin")
    await socket.disconnect()


async def test_removal_from_one_merchant_leaves_the_users_socket_on_another_open(
    layer, agent_membership, other_merchant
):
    elsewhere = await sync_to_async(MembershipFactory)(
        merchant=other_merchant, user=agent_membership.user, role=Role.AGENT
    )
    conversation = await sync_to_async(ConversationFactory)(merchant=other_merchant)
    here, _ = await inbox_socket(agent_membership)
    there, _ = await inbox_socket(elsewhere)
    await sync_to_async(membership_remove)(membership=agent_membership)
    await expect_close(here, 4403)
    assert await there.receive_nothing(timeout=0.5)
    await streams(there, conversation, "for the other merchant")
    await there.disconnect()


async def test_signing_out_closes_that_sessions_socket_4401(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, client = await inbox_socket(agent_membership)
    other_browser, _ = await inbox_socket(agent_membership)
    response = await sync_to_async(client.post)("/accounts/logout/")
    assert response.status_code == 302
    await closed_and_silent(socket, 4401, conversation)
    assert await bodies(other_browser) == ["after the close"]  # the other session still streams
    await other_browser.disconnect()


def _reset_password(user, password: str) -> int:
    """The e-mailed reset link, followed by an anonymous browser; the status of the final POST."""
    client = Client()
    uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    form_url = client.get(f"/accounts/reset/{uid}/{token}/").url  # Django swaps the token for a session
    return client.post(form_url, {"new_password1": password, "new_password2": password}).status_code


async def test_a_password_reset_closes_the_sessions_signed_in_with_the_old_one_4401(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    assert await sync_to_async(_reset_password)(agent_membership.user, "a new long passphrase 42") == 302
    await closed_and_silent(socket, 4401, conversation)


def _admin_deactivates(user) -> int:
    admin = _admin_client()
    joined = timezone.localtime(user.date_joined)
    form = {
        "email": user.email,
        "full_name": user.full_name,
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
    }  # is_active left out: unchecked
    return admin.post(reverse("admin:accounts_user_change", args=[user.pk]), form).status_code


async def test_deactivating_a_user_in_the_admin_closes_their_sockets_at_once_4401(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    assert await sync_to_async(_admin_deactivates)(agent_membership.user) == 302
    user_model = type(agent_membership.user)
    assert await sync_to_async(lambda: user_model.objects.get(pk=agent_membership.user_id).is_active)() is False
    await closed_and_silent(socket, 4401, conversation)


def _admin_client() -> Client:
    from apps.accounts.models import User

    admin = Client()
    admin.force_login(User.objects.create_superuser(email=f"root-{uuid.uuid4().hex[:6]}@example.test"))
    return admin


async def test_deleting_a_membership_in_the_admin_closes_its_socket_at_once_4403(layer, agent_membership):
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    url = reverse("admin:merchants_membership_delete", args=[agent_membership.pk])
    response = await sync_to_async(lambda: _admin_client().post(url, {"post": "yes"}))()
    assert response.status_code == 302
    await closed_and_silent(socket, 4403, conversation)


async def test_a_change_outside_the_services_is_caught_by_the_periodic_recheck(layer, agent_membership, settings):
    settings.ACCESS_RECHECK_SECONDS = 0.2
    conversation = await sync_to_async(ConversationFactory)(merchant=agent_membership.merchant)
    socket, _ = await inbox_socket(agent_membership)
    # As the Django admin or a shell would: no service, so no access.changed message.
    await sync_to_async(lambda: type(agent_membership.user).objects.filter(pk=agent_membership.user_id).update(
        is_active=False
    ))()  # fmt: skip
    await closed_and_silent(socket, 4401, conversation)


async def test_frames_sent_after_the_revocation_get_no_answer(layer, agent_membership):
    socket, _ = await inbox_socket(agent_membership)
    await sync_to_async(membership_remove)(membership=agent_membership)
    await expect_close(socket, 4403)
    await socket.send_json_to({"type": "ping"})
    assert await socket.receive_nothing(timeout=0.5)


async def test_a_revoked_agent_is_shown_offline_to_colleagues(layer, agent_membership, admin_membership):
    colleague, _ = await inbox_socket(admin_membership)
    socket, _ = await inbox_socket(agent_membership)
    await socket.send_json_to({"type": "presence", "status": "online"})
    online = await receive(colleague, type_="event")
    assert (online["kind"], online["payload"]["user_id"], online["payload"]["status"]) == (
        "presence.updated",
        agent_membership.user_id,
        "online",
    )
    await sync_to_async(membership_remove)(membership=agent_membership)
    await expect_close(socket, 4403)
    offline = await receive(colleague, type_="event")
    assert (offline["payload"]["user_id"], offline["payload"]["status"]) == (agent_membership.user_id, "offline")
    await colleague.disconnect()


# --------------------------------------------------------------------------- campaign progress
async def test_campaign_progress_stops_when_the_marketer_becomes_an_agent(layer, marketer_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=marketer_membership.merchant)
    client = await sync_to_async(_signed_in)(marketer_membership.user, marketer_membership.merchant_id)
    socket = await _socket(f"/ws/campaigns/{campaign.pk}/", client)
    assert (await socket.receive_json_from(timeout=REVOKED_WITHIN))["type"] == "progress"
    await sync_to_async(membership_set_role)(membership=marketer_membership, role=Role.AGENT)
    await expect_close(socket, 4403)
    update = {"type": "live.event", "seq": 1, "kind": progress.KIND, "payload": {"states": {"sent": 5}}}
    await get_channel_layer().group_send(progress.campaign_group(campaign.pk), update)
    assert await socket.receive_nothing(timeout=0.5)


# --------------------------------------------------------------------------- customers
async def test_the_widget_visitor_is_unaffected_by_member_changes(layer, agent_membership):
    channel = await sync_to_async(webchat_channel)(agent_membership.merchant)
    visitor_id, token = visitor(channel)
    contact = await sync_to_async(visitor_contact)(channel, visitor_id)
    conversation = await sync_to_async(ConversationFactory)(
        merchant=agent_membership.merchant, channel=channel, contact=contact, identity=False
    )
    customer = await widget_socket(channel)
    await widget_auth(customer, token)
    agent, _ = await inbox_socket(agent_membership)
    await sync_to_async(membership_remove)(membership=agent_membership)
    await expect_close(agent, 4403)
    assert await sync_to_async(Membership.objects.filter(pk=agent_membership.pk).exists)() is False
    reply = await sync_to_async(services.message_send)(conversation=conversation, text="Still here for you")
    got = await drain(customer, quiet=0.5)
    assert [(e["message"]["id"], e["message"]["body"]) for e in got] == [(reply.pk, "Still here for you")]
    await customer.disconnect()
