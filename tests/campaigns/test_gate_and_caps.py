"""The consent gate at claim time, frequency caps across campaigns, quiet hours, the opt-out race."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.services import batch_claim, batch_run, campaign_launch, campaign_start
from apps.contacts.models import Contact
from apps.contacts.services import consent_record

pytestmark = pytest.mark.django_db(transaction=True)


def started(campaign):
    campaign_launch(campaign=campaign)
    assert campaign_start(campaign_id=campaign.pk)
    return campaign


def run_all(campaign):
    while batch_run(campaign_id=campaign.pk, limit=100).picked:
        pass


def stop(contact):
    consent_record(
        merchant=contact.merchant,
        contact=contact,
        channel="whatsapp",
        purpose="marketing",
        action="revoke",
        source="keyword",
        wording="STOP",
    )


def test_stop_after_launch_but_before_the_claim_wins(fake_graph, make_contact, make_campaign):
    kept, stopped = make_contact(), make_contact()
    campaign = started(make_campaign())
    stop(stopped)
    run_all(campaign)
    assert set(fake_graph.per_recipient()) == {kept.phone.lstrip("+")}
    assert Delivery.objects.get(contact=stopped).reason == "revoked"


@pytest.mark.postgres
def test_stop_racing_a_claim_is_never_sent_when_it_commits_first(fake_graph, make_contact, make_campaign):
    """Thread A holds a STOP transaction open (the contact row locked) while thread B claims.

    B must wait for A's commit and then see the revocation: the STOP committed before the claim.
    """
    contact = make_contact()
    campaign = started(make_campaign())
    in_stop, release, results = threading.Event(), threading.Event(), {}

    def opt_out():
        try:
            with transaction.atomic():
                stop(Contact.objects.get(pk=contact.pk))
                in_stop.set()
                release.wait(10)
        finally:
            connection.close()

    def claim():
        try:
            results["claim"] = batch_claim(campaign_id=campaign.pk, limit=10)
        finally:
            connection.close()

    a = threading.Thread(target=opt_out)
    a.start()
    assert in_stop.wait(10)
    b = threading.Thread(target=claim)
    b.start()
    b.join(1.0)
    assert b.is_alive(), "the claim must wait for the STOP transaction's row lock"
    release.set()
    a.join(10)
    b.join(10)
    assert results["claim"].items == []
    assert Delivery.objects.get(contact=contact).reason == "revoked"


def test_claim_after_a_claim_already_took_the_row_does_not_double(fake_graph, make_contact, make_campaign):
    make_contact()
    campaign = started(make_campaign())
    first = batch_claim(campaign_id=campaign.pk, limit=10)
    second = batch_claim(campaign_id=campaign.pk, limit=10)
    assert len(first.items) == 1 and second.items == []


def test_frequency_cap_across_two_campaigns(fake_graph, make_contact, make_campaign):
    contact = make_contact()
    cap = {"max": 1, "period": "day"}
    run_all(started(make_campaign(frequency_cap=cap)))
    second = started(make_campaign(frequency_cap=cap))
    run_all(second)
    assert fake_graph.per_recipient()[contact.phone.lstrip("+")] == 1
    assert Delivery.objects.get(campaign=second).reason == "frequency_cap"


def test_frequency_cap_resets_at_the_contacts_local_midnight(fake_graph, make_contact, make_campaign):
    make_contact(tz="Asia/Tokyo")
    cap = {"max": 1, "period": "day"}
    with time_machine.travel(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), tick=False):  # 23:00 in Tokyo
        run_all(started(make_campaign(frequency_cap=cap)))
    with time_machine.travel(datetime(2026, 6, 1, 15, 30, tzinfo=UTC), tick=False):  # 00:30 next day in Tokyo
        second = started(make_campaign(frequency_cap=cap))
        run_all(second)
    assert len(fake_graph.accepted) == 2
    assert Delivery.objects.get(campaign=second).state == DeliveryState.SENT


def test_weekly_cap_counts_every_marketing_campaign_but_not_utility(fake_graph, make_contact, make_campaign, merchant):
    from tests.factories.campaigns import TemplateFactory

    make_contact()
    utility = TemplateFactory(merchant=merchant, category="utility")
    run_all(started(make_campaign(template=utility)))
    run_all(started(make_campaign()))
    run_all(started(make_campaign()))
    third = started(make_campaign(frequency_cap={"max": 2, "period": "week"}))
    run_all(third)
    assert len(fake_graph.accepted) == 3
    assert Delivery.objects.get(campaign=third).reason == "frequency_cap"


def test_quiet_hours_hold_each_contact_until_their_morning_and_never_drop(fake_graph, make_contact, make_campaign):
    madrid, tokyo = make_contact(tz="Europe/Madrid"), make_contact(tz="Asia/Tokyo")
    quiet = {"start": "21:00", "end": "09:00"}
    with time_machine.travel(datetime(2026, 6, 1, 14, 0, tzinfo=UTC), tick=False):  # Madrid 16:00, Tokyo 23:00
        campaign = started(make_campaign(quiet_hours=quiet))
        run_all(campaign)
        assert set(fake_graph.per_recipient()) == {madrid.phone.lstrip("+")}
        held = Delivery.objects.get(contact=tokyo)
        assert held.state == DeliveryState.PENDING
        assert held.not_before == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    with time_machine.travel(datetime(2026, 6, 1, 23, 59, tzinfo=UTC), tick=False):
        assert batch_run(campaign_id=campaign.pk).picked == 0
    with time_machine.travel(datetime(2026, 6, 2, 0, 0, 1, tzinfo=UTC), tick=False):
        run_all(campaign)
    assert fake_graph.per_recipient()[tokyo.phone.lstrip("+")] == 1


def test_quiet_hours_across_a_dst_change(fake_graph, make_contact, make_campaign):
    contact = make_contact(tz="Europe/Madrid")
    with time_machine.travel(datetime(2026, 3, 28, 22, 0, tzinfo=UTC), tick=False):  # 23:00 CET, night before DST
        campaign = started(make_campaign(quiet_hours={"start": "21:00", "end": "09:00"}))
        run_all(campaign)
    assert Delivery.objects.get(contact=contact).not_before == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST


def test_missing_variable_without_fallback_is_skipped(fake_graph, make_contact, make_campaign):
    make_contact(name="")
    campaign = started(make_campaign(fallbacks={}))
    run_all(campaign)
    assert fake_graph.accepted == []
    assert Delivery.objects.get(campaign=campaign).reason == "missing_variable"


def test_fallback_fills_an_empty_field(fake_graph, make_contact, make_campaign):
    make_contact(name="")
    run_all(started(make_campaign()))
    assert fake_graph.accepted[0]["body"]["template"]["components"][0]["parameters"][0]["text"] == "there"


def test_erased_contact_is_skipped(fake_graph, make_contact, make_campaign):
    from django.utils import timezone

    contact = make_contact()
    campaign = started(make_campaign())
    Contact.objects.filter(pk=contact.pk).update(erased_at=timezone.now())
    run_all(campaign)
    assert fake_graph.accepted == []
    assert Delivery.objects.get(campaign=campaign).reason == "erased"


def test_lease_expiry_never_dispatched_goes_back_to_pending(fake_graph, make_contact, make_campaign):
    from apps.campaigns.services import deliveries_reap

    make_contact()
    campaign = started(make_campaign())
    claim = batch_claim(campaign_id=campaign.pk, limit=10)
    assert claim.items
    deliveries_reap(now=datetime.now(UTC) + timedelta(hours=1))
    assert Delivery.objects.get(campaign=campaign).state == DeliveryState.PENDING
    run_all(campaign)
    assert len(fake_graph.accepted) == 1
