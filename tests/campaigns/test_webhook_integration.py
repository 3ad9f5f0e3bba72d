"""Meta's real status payload through conversations' signed webhook reaches the campaign ledger."""

import pytest

from apps.campaigns.models import Delivery
from apps.campaigns.services import batch_claim, campaign_launch, campaign_start, opaque_for
from apps.conversations.models import WebhookEvent
from apps.conversations.services.inbound import webhook_event_process
from tests.conversations.conftest import post_webhook  # noqa: F401 - fixture
from tests.samples import sample

pytestmark = pytest.mark.django_db


def _status_payload(channel, status: str, wamid: str, opaque: str, timestamp: str) -> dict:
    payload = sample(f"whatsapp/status_{status}.json")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = channel.phone_number_id
    item = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    item.update({"id": wamid, "biz_opaque_callback_data": opaque, "timestamp": timestamp})
    item.pop("errors", None)
    return payload


def test_signed_status_webhook_settles_an_unknown_delivery(post_webhook, make_contact, make_campaign, channel):  # noqa: F811
    make_contact()
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    delivery_id = batch_claim(campaign_id=campaign.pk, limit=10).items[0][0]
    Delivery.objects.filter(pk=delivery_id).update(state="unknown")  # the worker died after sending

    for status, ts in (("read", "1764057800"), ("delivered", "1764057750")):  # out of order, as Meta may
        response = post_webhook(channel, _status_payload(channel, status, "wamid.REAL1", opaque_for(delivery_id), ts))
        assert response.status_code == 200
    for event in WebhookEvent.objects.order_by("id"):
        result = webhook_event_process(event_id=event.pk)
        assert not result.errors, result.errors

    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.state, delivery.provider_message_id) == ("read", "wamid.REAL1")
    assert delivery.read_at.timestamp() == 1764057800 and delivery.delivered_at is not None


def test_unsigned_status_changes_nothing(post_webhook, make_contact, make_campaign, channel):  # noqa: F811
    make_contact()
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    delivery_id = batch_claim(campaign_id=campaign.pk, limit=10).items[0][0]
    payload = _status_payload(channel, "delivered", "wamid.FORGED", opaque_for(delivery_id), "1764057750")
    assert post_webhook(channel, payload, signature="sha256=" + "0" * 64).status_code == 403
    assert Delivery.objects.get(pk=delivery_id).state == "claimed"
