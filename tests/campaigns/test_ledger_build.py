"""The ledger is built in committed chunks: senders start after the first, the campaign completes only
once the whole ledger is built, a lost build is resumed by the tick, and a cancel stops it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns import tasks
from apps.campaigns.models import Campaign, Delivery
from apps.campaigns.services import campaign_cancel, campaign_complete_if_done, campaign_launch, campaign_start
from apps.campaigns.services import ledger as ledger_module

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(ledger_module, "CHUNK_IDS", 2)  # consecutive contact ids: two contacts per chunk


@pytest.fixture
def dispatches(monkeypatch):
    """Each campaign_dispatch enqueued: what the ledger looked like when it was enqueued (after commit)."""
    seen: list[dict] = []

    def apply_async(args, **options):
        (campaign_id,) = args
        campaign = Campaign.objects.get(pk=campaign_id)
        rows = Delivery.objects.filter(campaign_id=campaign_id).count()
        seen.append({"rows": rows, "built": campaign.ledger_built_at is not None, "status": campaign.status})

    monkeypatch.setattr(tasks.campaign_dispatch, "apply_async", apply_async)
    return seen


def test_senders_start_after_the_first_chunk_and_again_once_it_is_built(
    tiny_chunks, dispatches, make_contact, make_campaign
):
    for _ in range(6):
        make_contact(tags=["vip"])
    campaign = make_campaign(rules={"tags_any": ["vip"]})
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    assert dispatches[0] == {"rows": 2, "built": False, "status": "running"}
    assert dispatches[-1] == {"rows": 6, "built": True, "status": "running"}
    campaign.refresh_from_db()
    assert campaign.audience_size == 6 and campaign.ledger_built_at is not None


def test_a_one_chunk_audience_dispatches_once_when_built(dispatches, make_contact, make_campaign):
    make_contact()
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    assert dispatches == [{"rows": 1, "built": True, "status": "running"}]


def test_a_half_built_ledger_never_completes_and_the_tick_finishes_it(
    eager, tiny_chunks, dispatches, make_contact, make_campaign
):
    contacts = [make_contact(tags=["vip"]) for _ in range(5)]
    campaign = make_campaign(rules={"tags_any": ["vip"]})
    # Launched and started; the worker building its ledger died after the first chunk:
    # running, two rows, both already sent.
    long_ago = timezone.now() - timedelta(minutes=5)
    Campaign.objects.filter(pk=campaign.pk).update(status="running", started_at=long_ago, heartbeat_at=long_ago)
    for contact in contacts[:2]:
        Delivery.objects.create(merchant=campaign.merchant, campaign=campaign, contact=contact, state="sent")
    assert campaign_complete_if_done(campaign_id=campaign.pk) is False  # nothing open, but not built
    tasks.campaigns_tick()  # resumes the build (the task runs in place here: eager)
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.ledger_built_at is not None
    assert campaign.audience_size == 5
    assert Delivery.objects.filter(campaign=campaign, state="pending").count() == 3
    assert Delivery.objects.filter(campaign=campaign, state="sent").count() == 2  # untouched
    assert dispatches[-1]["built"] is True


def test_a_cancel_stops_the_build(tiny_chunks, monkeypatch, make_contact, make_campaign):
    for _ in range(6):
        make_contact(tags=["vip"])
    campaign = make_campaign(rules={"tags_any": ["vip"]})
    campaign_launch(campaign=campaign)
    # The marketer cancels as the first chunk's senders are dispatched.
    monkeypatch.setattr(
        tasks.campaign_dispatch, "apply_async", lambda args, **_: campaign_cancel(campaign=Campaign(pk=args[0]))
    )
    campaign_start(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == "cancelled" and campaign.ledger_built_at is None
    assert list(Delivery.objects.filter(campaign=campaign).values_list("state", "reason")) == [
        ("skipped", "cancelled"),
        ("skipped", "cancelled"),
    ]


def test_a_pause_mid_build_keeps_building_and_a_resume_sends_from_the_first_start(
    tiny_chunks, monkeypatch, make_contact, make_campaign
):
    from apps.campaigns.services import campaign_pause, campaign_resume

    for _ in range(4):
        make_contact(tags=["vip"])
    campaign = make_campaign(rules={"tags_any": ["vip"]})
    campaign_launch(campaign=campaign)
    monkeypatch.setattr(
        tasks.campaign_dispatch, "apply_async", lambda args, **_: campaign_pause(campaign=Campaign(pk=args[0]))
    )
    campaign_start(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    first_start = campaign.started_at
    assert campaign.status == "paused" and campaign.ledger_built_at is not None
    assert Delivery.objects.filter(campaign=campaign, state="pending").count() == 4
    monkeypatch.setattr(tasks.campaign_dispatch, "apply_async", lambda args, **_: None)
    campaign_resume(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.started_at == first_start
