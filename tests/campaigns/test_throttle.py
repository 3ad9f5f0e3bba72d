import uuid

import pytest

from apps.campaigns import throttle
from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.services import batch_claim, batch_send, campaign_launch, campaign_pause, campaign_start


def test_reservations_space_sends_at_the_rate_after_a_one_second_burst():
    key = f"test-{uuid.uuid4().hex}"
    assert throttle.reserve(key, 80, 80) == 0  # the first second's worth goes at once
    second = throttle.reserve(key, 80, 80)
    assert 0.9 <= second <= 1.0  # the next 80 wait for the following second
    assert 1.9 <= throttle.reserve(key, 80, 80) <= 2.0


def test_a_throughput_penalty_pushes_every_sender_back():
    key = f"test-{uuid.uuid4().hex}"
    throttle.slow_down(key, 10, 3.0)
    assert 1.9 <= throttle.reserve(key, 1, 10) <= 2.2  # 3 s penalty + 0.1 s slot - 1 s burst


@pytest.mark.django_db(transaction=True)
def test_pause_during_a_batch_hands_the_rest_back_unsent(fake_graph, make_contact, make_campaign):
    for _ in range(5):
        make_contact()
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    claim = batch_claim(campaign_id=campaign.pk, limit=10)
    campaign_pause(campaign=campaign)
    totals = batch_send(claim=claim)
    assert totals["released"] == 5 and fake_graph.requests == []
    assert Delivery.objects.filter(campaign=campaign, state=DeliveryState.PENDING).count() == 5
