"""/ws/campaigns/<id>/ through the real ASGI app: membership + capability + the merchant's campaign only;
progress travels the live event log like chat (relayed in the embedded mode, resumed by seq)."""

import asyncio
import threading
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from apps.campaigns import progress
from apps.campaigns.models import Campaign
from apps.conversations import events, relay
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


def _publish(campaign, payload: dict) -> None:
    topic = progress.campaign_group(campaign.pk)
    events.publish(merchant_id=campaign.merchant_id, kind=progress.KIND, payload=payload, topic=topic)


def _progress_elsewhere(campaign_id: int) -> None:
    """progress_broadcast as the worker runs it: the row is committed, its broadcast reaches no socket here."""
    with mock.patch.object(events, "broadcast"):
        progress.progress_broadcast(campaign_id=campaign_id, force=True)


@pytest.fixture
async def stop_relay():
    yield
    await relay.relay_stop()


async def test_marketer_gets_counts_then_live_updates(marketer_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=marketer_membership.merchant)
    communicator, connected, _ = await _connect(marketer_membership.user, campaign.pk)
    assert connected
    first = await communicator.receive_json_from(timeout=3)
    assert first["type"] == "progress" and first["payload"]["audience"] == 0 and first["payload"]["status"] == "draft"
    await sync_to_async(_publish)(campaign, {"states": {"sent": 5}})
    assert (await communicator.receive_json_from(timeout=3))["payload"]["states"] == {"sent": 5}
    await communicator.disconnect()


@pytest.mark.usefixtures("stop_relay")
async def test_embedded_mode_relays_progress_written_by_the_worker(marketer_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=marketer_membership.merchant)
    communicator, connected, _ = await _connect(marketer_membership.user, campaign.pk)
    assert connected
    first = await communicator.receive_json_from(timeout=3)
    assert first["type"] == "progress" and relay.relay_running()
    await sync_to_async(Campaign.objects.filter(pk=campaign.pk).update)(status="running")
    await sync_to_async(_progress_elsewhere)(campaign.pk)
    got = await communicator.receive_json_from(timeout=3)
    assert got["type"] == "event" and got["kind"] == progress.KIND
    assert got["payload"]["status"] == "running" and got["seq"] > first["last_seq"]
    await communicator.disconnect()


@pytest.mark.usefixtures("stop_relay")
def _worker_elsewhere(campaign_id: int) -> dict:
    """What a Celery worker of `make run` does, in a thread with its own database connection and its own
    in-memory channel layer (as another process has): mark progress, publish it. Returns what that layer's
    group saw, to show the broadcast itself reached no socket of the web process."""
    from channels.layers import InMemoryChannelLayer
    from django.db import connection

    worker_layer = InMemoryChannelLayer()
    result: dict = {}

    def run() -> None:
        try:
            with mock.patch.object(events, "get_channel_layer", return_value=worker_layer):
                Campaign.objects.filter(pk=campaign_id).update(status="running")
                progress.progress_broadcast(campaign_id=campaign_id, force=True)
            result["worker_groups"] = dict(worker_layer.groups)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="fake-celery-worker")
    thread.start()
    thread.join(timeout=10)
    return result


@pytest.mark.usefixtures("stop_relay")
async def test_progress_from_another_connection_and_layer_reaches_the_web_processs_socket(marketer_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=marketer_membership.merchant)
    communicator, connected, _ = await _connect(marketer_membership.user, campaign.pk)
    assert connected
    first = await communicator.receive_json_from(timeout=3)
    assert first["payload"]["status"] == "draft"
    worker = await asyncio.to_thread(_worker_elsewhere, campaign.pk)
    assert worker["worker_groups"] == {}  # nobody listens on the worker's layer: only the relay can deliver
    got = await communicator.receive_json_from(timeout=3)
    assert got["type"] == "event" and got["kind"] == progress.KIND
    assert got["payload"]["status"] == "running" and got["payload"]["status_label"] == "Running"
    assert got["seq"] == first["last_seq"] + 1
    await communicator.disconnect()


async def test_reconnecting_socket_gets_the_latest_progress_after_its_seq(marketer_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=marketer_membership.merchant)
    communicator, connected, _ = await _connect(marketer_membership.user, campaign.pk)
    assert connected
    last_seen = (await communicator.receive_json_from(timeout=3))["last_seq"]
    await communicator.disconnect()
    with mock.patch.object(events, "broadcast"):
        for sent in (1, 2, 3):
            await sync_to_async(_publish)(campaign, {"states": {"sent": sent}})
    communicator, connected, _ = await _connect(marketer_membership.user, campaign.pk)
    await communicator.receive_json_from(timeout=3)
    await communicator.send_json_to({"type": "resume", "after_seq": last_seen})
    replayed = await communicator.receive_json_from(timeout=3)
    assert replayed["type"] == "event" and replayed["payload"]["states"] == {"sent": 3}
    assert await communicator.receive_json_from(timeout=3) == {"type": "resumed", "last_seq": replayed["seq"]}
    await communicator.disconnect()


async def test_agent_is_refused(agent_membership):
    campaign = await sync_to_async(CampaignFactory)(merchant=agent_membership.merchant)
    _, connected, code = await _connect(agent_membership.user, campaign.pk)
    assert not connected and code == 4403


async def test_another_merchants_campaign_is_refused(marketer_membership, other_merchant):
    foreign = await sync_to_async(CampaignFactory)(merchant=other_merchant)
    _, connected, code = await _connect(marketer_membership.user, foreign.pk)
    assert not connected and code == 4403
