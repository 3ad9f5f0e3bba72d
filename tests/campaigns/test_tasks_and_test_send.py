from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns import tasks
from apps.campaigns.models import Campaign, Delivery

pytestmark = pytest.mark.django_db(transaction=True)


def test_tick_starts_a_due_campaign_and_sends_it_to_completion(eager, fake_graph, make_contact, make_campaign):
    make_contact()
    make_contact(consent=None)
    due = make_campaign(status="scheduled", scheduled_at=timezone.now() - timedelta(seconds=1))
    later = make_campaign(status="scheduled", scheduled_at=timezone.now() + timedelta(hours=1))
    tasks.campaigns_tick()
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == "completed" and due.audience_size == 2
    assert later.status == "scheduled" and not Delivery.objects.filter(campaign=later).exists()
    assert len(fake_graph.accepted) == 1


def test_tick_revives_a_running_campaign_whose_senders_died(eager, fake_graph, make_contact, make_campaign):
    from apps.campaigns.services import campaign_start

    make_contact()
    campaign = make_campaign(status="scheduled")
    campaign_start(campaign_id=campaign.pk)  # its dispatch task was lost with the worker
    Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    tasks.campaigns_tick()
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"
    assert len(fake_graph.accepted) == 1


def test_test_send_goes_through_the_gate(api, fake_graph, make_contact, make_campaign, merchant):
    campaign = make_campaign()
    me = make_contact(name="Marta Test")
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/test-send/", {"contact": me.pk}, format="json")
    assert response.status_code == 200 and response.json()["provider_message_id"].startswith("wamid.")
    assert fake_graph.accepted[-1]["body"]["template"]["components"][0]["parameters"][0]["text"] == "Marta"
    stranger = make_contact(consent=None)
    refused = api.post(f"/api/v1/campaigns/{campaign.pk}/test-send/", {"contact": stranger.pk}, format="json")
    assert refused.status_code == 422 and refused.json()["error"] == {
        "code": "no_marketing_consent",
        "message": (
            "This contact cannot receive marketing: the contact never granted marketing consent on this channel."
        ),
        "fields": {},
    }
    assert not Delivery.objects.exists()  # a test send is not part of the campaign's ledger


def test_test_send_to_an_erased_person_is_refused_as_suppressed(api, fake_graph, make_contact, make_campaign):
    from apps.contacts.services import contact_erase

    campaign = make_campaign()
    erased = contact_erase(contact=make_contact())
    refused = api.post(f"/api/v1/campaigns/{campaign.pk}/test-send/", {"contact": erased.pk}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (
        422,
        {
            "code": "suppressed",
            "message": "This contact cannot receive marketing: the contact was erased.",
            "fields": {},
        },
    )
    assert fake_graph.accepted == []


@pytest.mark.parametrize("state", ["pending", "claimed"])
def test_a_campaign_with_an_open_delivery_is_not_completed(state, make_contact, make_campaign):
    from apps.campaigns.services import campaign_complete_if_done

    campaign = make_campaign(status="running", ledger_built_at=timezone.now())
    other = make_campaign(status="running", ledger_built_at=timezone.now())
    for c in (campaign, other):
        Delivery.objects.create(merchant=c.merchant, campaign=c, contact=make_contact(), state="sent")
    # Open rows of another campaign must not keep this one running.
    Delivery.objects.create(merchant=other.merchant, campaign=other, contact=make_contact(), state="pending")
    open_row = Delivery.objects.create(
        merchant=campaign.merchant,
        campaign=campaign,
        contact=make_contact(),
        state=state,
        not_before=timezone.now() + timedelta(hours=1),  # not due yet: still open
        lease_expires_at=timezone.now() - timedelta(minutes=1) if state == "claimed" else None,
    )
    assert campaign_complete_if_done(campaign_id=campaign.pk) is False
    assert Campaign.objects.get(pk=campaign.pk).status == "running"
    Delivery.objects.filter(pk=open_row.pk).update(state="sent")
    assert campaign_complete_if_done(campaign_id=campaign.pk) is True
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"
    assert Campaign.objects.get(pk=other.pk).status == "running"
