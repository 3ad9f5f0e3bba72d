"""/ws/campaigns/<id>/ through the real ASGI app: membership + capability + the merchant's campaign only."""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.campaigns import events
from portal.asgi import application
from tests.conversations.live_support import session_cookie
from tests.factories.campaigns import CampaignFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(user, campaign_id):
    cookie = await sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/campaigns/{campaign_id}/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://testserver")],
    )
    connected, code = await communicator.connect(timeout=3)
    return communicator, connected, code


async def test_marketer_gets_counts_then_live_updates(marketer_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=marketer_membership.merchant)
    communicator, connected, _ = await _connect(marketer_membership.user, campaign.pk)
    assert connected
    first = await communicator.receive_json_from(timeout=3)
    assert first["type"] == "progress" and first["payload"]["audience"] == 0 and first["payload"]["status"] == "draft"
    await get_channel_layer().group_send(
        events.campaign_group(campaign.pk), {"type": events.MESSAGE_TYPE, "payload": {"states": {"sent": 5}}}
    )
    assert (await communicator.receive_json_from(timeout=3))["payload"]["states"] == {"sent": 5}
    await communicator.disconnect()


async def test_agent_is_refused(agent_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=agent_membership.merchant)
    _, connected, code = await _connect(agent_membership.user, campaign.pk)
    assert not connected and code == 4403


async def test_another_merchants_campaign_is_refused(marketer_membership, other_merchant):
    foreign = await sync_to_async(CampaignFactory)(merchant=other_merchant)
    _, connected, code = await _connect(marketer_membership.user, foreign.pk)
    assert not connected and code == 4403
