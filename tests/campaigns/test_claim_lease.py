"""A claim belongs to its token until its lease ends; the stamp is the last look at consent.

What makes a redelivered or duplicated sender task, a reaper run from any worker, and a STOP that
lands between claim and send harmless (docs/architecture.md, DR-14). The real-worker drills are in
test_worker_crash.py; these pin each rule on its own.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns import tasks
from apps.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState
from apps.campaigns.selectors import campaign_stats
from apps.campaigns.services import (
    batch_claim,
    batch_loop,
    batch_send,
    campaign_launch,
    campaign_pause,
    campaign_start,
)
from apps.contacts.services import consent_record

pytestmark = pytest.mark.django_db(transaction=True)


def started(campaign):
    campaign_launch(campaign=campaign)
    assert campaign_start(campaign_id=campaign.pk)
    return campaign


def addresses(contacts) -> Counter:
    return Counter({c.phone.lstrip("+"): 1 for c in contacts})


def test_a_stop_committed_after_the_claim_stops_the_send(fake_graph, make_contact, make_campaign, merchant):
    contacts = [make_contact() for _ in range(4)]
    campaign = started(make_campaign())
    claim = batch_claim(campaign_id=campaign.pk, limit=10)
    assert len(claim.items) == 4
    stopped = contacts[2]
    consent_record(
        merchant=merchant, contact=stopped, channel="whatsapp", purpose="marketing", action="revoke", source="keyword"
    )

    totals = batch_send(claim=claim)

    assert fake_graph.per_recipient() == addresses([c for c in contacts if c != stopped])
    assert totals["sent"] == 3
    row = Delivery.objects.get(campaign=campaign, contact=stopped)
    assert (row.state, row.reason, row.dispatched_at, row.claim_token) == ("skipped", "revoked", None, "")


def test_a_claim_whose_lease_ran_out_stamps_nothing_and_hands_back(fake_graph, make_contact, make_campaign, settings):
    contacts = [make_contact() for _ in range(3)]
    campaign = started(make_campaign())
    settings.CAMPAIGNS_LEASE_SECONDS = 0.3
    claim = batch_claim(campaign_id=campaign.pk, limit=10)
    time.sleep(0.4)  # the sender stalled past its lease (a GC pause, a slow stamp thread)

    totals = batch_send(claim=claim)

    assert fake_graph.requests == []
    assert totals["released"] == 3
    assert set(Delivery.objects.filter(campaign=campaign).values_list("state", "dispatched_at")) == {("pending", None)}
    settings.CAMPAIGNS_LEASE_SECONDS = 120
    assert batch_loop(campaign_id=campaign.pk, budget_seconds=0) == 3
    assert fake_graph.per_recipient() == addresses(contacts)


def test_a_second_sender_beside_a_live_claim_takes_nothing_of_it(fake_graph, make_contact, make_campaign):
    contacts = [make_contact() for _ in range(4)]
    campaign = started(make_campaign())
    live = batch_claim(campaign_id=campaign.pk, limit=2)

    assert batch_loop(campaign_id=campaign.pk, budget_seconds=0) == 2  # the other two only: a redelivered task
    batch_send(claim=live)

    assert fake_graph.per_recipient() == addresses(contacts)
    assert Delivery.objects.filter(campaign=campaign, state=DeliveryState.SENT).count() == 4


def test_a_dead_senders_claims_are_settled_by_the_next_sender_without_beat(fake_graph, make_contact, make_campaign):
    contacts = [make_contact() for _ in range(4)]
    campaign = started(make_campaign())
    dead = batch_claim(campaign_id=campaign.pk, limit=4)
    ids = [did for did, _ in dead.items]
    Delivery.objects.filter(pk__in=ids[:1]).update(dispatched_at=timezone.now())  # it went out, then the worker died
    Delivery.objects.filter(pk__in=ids).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert batch_loop(campaign_id=campaign.pk, budget_seconds=0) == 3  # reaped first, then claimed again

    stamped_contact_id = Delivery.objects.get(pk=ids[0]).contact_id  # claim order is the database's, not ours
    others = [contact for contact in contacts if contact.pk != stamped_contact_id]
    assert fake_graph.per_recipient() == addresses(others)
    assert Delivery.objects.get(pk=ids[0]).state == DeliveryState.UNKNOWN  # may have gone out: never resent
    batch_send(claim=dead)  # the dead sender's claim, had it survived: its lease is over, nothing goes out
    assert fake_graph.per_recipient() == addresses(others)
    assert campaign_stats(campaign=campaign)["states"]["unknown"] == 1


@pytest.fixture
def follow_ups(monkeypatch):
    calls: list[float] = []
    """countdown of every successor the chain enqueues (None: at once); none of them runs."""
    monkeypatch.setattr(
        tasks.campaign_send_batch, "apply_async", lambda args, kwargs=None, countdown=None: calls.append(countdown)
    )
    return calls


def test_a_chain_with_nothing_due_comes_back_when_the_open_lease_ends(
    fake_graph, make_contact, make_campaign, follow_ups
):
    make_contact()
    campaign = started(make_campaign())
    batch_claim(campaign_id=campaign.pk, limit=10)  # held by a sender that may be dead
    Delivery.objects.filter(campaign=campaign).update(lease_expires_at=timezone.now() + timedelta(seconds=3))

    tasks.campaign_send_batch.run(campaign.pk)

    assert len(follow_ups) == 1 and 3.0 <= follow_ups[0] <= 3.6
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.RUNNING


def test_a_chain_completes_the_campaign_when_nothing_is_open(fake_graph, make_contact, make_campaign, follow_ups):
    contact = make_contact()
    campaign = started(make_campaign())

    tasks.campaign_send_batch.run(campaign.pk)  # sends, hands over to its successor
    tasks.campaign_send_batch.run(campaign.pk)  # nothing left

    assert fake_graph.per_recipient() == addresses([contact])
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED
    assert follow_ups == [None]  # the hand-over after the first run; nothing after the campaign completed


def test_a_paused_campaigns_chain_does_not_come_back(fake_graph, make_contact, make_campaign, follow_ups):
    make_contact()
    campaign = started(make_campaign())
    campaign_pause(campaign=campaign)

    tasks.campaign_send_batch.run(campaign.pk)

    assert follow_ups == [] and fake_graph.requests == []
    assert Delivery.objects.get(campaign=campaign).state == DeliveryState.PENDING
