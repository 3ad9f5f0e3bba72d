import pytest

from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.selectors import campaign_stats
from apps.campaigns.services import (
    batch_claim,
    batch_run,
    campaign_launch,
    campaign_start,
    deliveries_reap,
)
from apps.contacts.models import ConsentEvent, ConsentState
from apps.meta import dispatch
from apps.meta.values import seconds
from apps.meta.webhooks import StatusUpdate, TemplateReview, wa_template_review
from tests.samples import sample

pytestmark = pytest.mark.django_db(transaction=True)


def started(campaign):
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    return campaign


def run_all(campaign):
    while batch_run(campaign_id=campaign.pk, limit=100).picked:
        pass


def wa(contact):
    return contact.phone.lstrip("+")


def test_throughput_error_retries_later_and_sends_once(fake_graph, make_contact, make_campaign):
    contact = make_contact()
    fake_graph.errors_once[wa(contact)] = 130429
    campaign = started(make_campaign())
    batch_run(campaign_id=campaign.pk)
    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.state == DeliveryState.PENDING and delivery.attempted_at is None  # handed back, held 2 s
    Delivery.objects.filter(pk=delivery.pk).update(not_before="2000-01-01T00:00:00Z")
    run_all(campaign)
    assert fake_graph.per_recipient()[wa(contact)] == 1
    assert len(fake_graph.requests) == 2


def test_per_user_marketing_limit_skips_for_the_day_across_campaigns(fake_graph, make_contact, make_campaign):
    contact = make_contact()
    fake_graph.errors_once[wa(contact)] = 131049
    first = started(make_campaign())
    run_all(first)
    assert Delivery.objects.get(campaign=first).reason == "marketing_limit"
    second = started(make_campaign())
    run_all(second)
    assert Delivery.objects.get(campaign=second).reason == "marketing_limit"
    assert fake_graph.accepted == [] and len(fake_graph.requests) == 1


def test_user_stopped_marketing_revokes_consent_in_the_ledger(fake_graph, make_contact, make_campaign):
    contact = make_contact()
    fake_graph.errors[wa(contact)] = 131050
    campaign = started(make_campaign())
    run_all(campaign)
    assert Delivery.objects.get(campaign=campaign).reason == "revoked"
    event = ConsentEvent.objects.filter(contact=contact).latest("id")
    assert (event.action, event.source) == ("revoke", "provider_error")
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "revoked"


def test_permanent_error_fails_with_its_code(fake_graph, make_contact, make_campaign):
    contact = make_contact()
    fake_graph.errors[wa(contact)] = 132000
    campaign = started(make_campaign())
    run_all(campaign)
    assert campaign_stats(campaign=campaign)["failed"] == {"132000": 1}


def _status(channel, delivery, status, **extra):
    code = extra.pop("code", None)
    update = StatusUpdate(
        message_id=extra.pop("wamid", delivery.provider_message_id) or "",
        status=status,
        timestamp=seconds("1764057705"),
        error_code="" if code is None else str(code),
        opaque=extra.pop("opaque", None),
    )
    return dispatch.claimed(update, channel=channel)


def test_statuses_move_forward_only_and_are_idempotent(fake_graph, make_contact, make_campaign, channel):
    make_contact()
    campaign = started(make_campaign())
    run_all(campaign)
    delivery = Delivery.objects.get(campaign=campaign)
    assert _status(channel, delivery, "read") is True
    assert _status(channel, delivery, "delivered") is True  # late and out of order: ignored
    assert _status(channel, delivery, "read") is True  # at-least-once: same again
    delivery.refresh_from_db()
    assert delivery.state == "read" and delivery.delivered_at is not None and delivery.read_at is not None
    assert _status(channel, delivery, "failed", code=131026) is True
    delivery.refresh_from_db()
    assert delivery.state == "read"


def test_unknown_claim_is_reconciled_by_opaque_data_not_resent(fake_graph, make_contact, make_campaign, channel):
    make_contact()
    campaign = started(make_campaign())
    claim = batch_claim(campaign_id=campaign.pk, limit=10)
    delivery_id = claim.items[0][0]
    Delivery.objects.filter(pk=delivery_id).update(
        dispatched_at="2026-01-01T00:00:00Z"
    )  # it went out, then the worker died
    from datetime import UTC, datetime, timedelta

    deliveries_reap(now=datetime.now(UTC) + timedelta(hours=1))
    assert Delivery.objects.get(pk=delivery_id).state == DeliveryState.UNKNOWN
    assert batch_run(campaign_id=campaign.pk).picked == 0  # never blindly resent
    assert campaign_stats(campaign=campaign)["states"]["unknown"] == 1
    handled = _status(
        channel, Delivery(provider_message_id=""), "delivered", wamid="wamid.X", opaque=f"charla-delivery:{delivery_id}"
    )
    assert handled is True
    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.state, delivery.provider_message_id) == ("delivered", "wamid.X")


def test_another_channels_status_is_not_ours(fake_graph, make_contact, make_campaign, other_merchant):
    from tests.factories.conversations import ChannelFactory

    make_contact()
    campaign = started(make_campaign())
    run_all(campaign)
    delivery = Delivery.objects.get(campaign=campaign)
    foreign = ChannelFactory(merchant=other_merchant)
    assert _status(foreign, delivery, "read", opaque=f"charla-delivery:{delivery.pk}") is False
    delivery.refresh_from_db()
    assert delivery.state == "sent"


def test_failed_status_with_131050_revokes(fake_graph, make_contact, make_campaign, channel):
    contact = make_contact()
    campaign = started(make_campaign())
    run_all(campaign)
    delivery = Delivery.objects.get(campaign=campaign)
    _status(channel, delivery, "failed", code=131050)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.reason) == ("skipped", "revoked")
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "revoked"


def test_template_status_webhook_sample_updates_the_template(merchant, template):
    value = sample("whatsapp/template_status_approved.json")["entry"][0]["changes"][0]["value"]
    template.name, template.status = value["message_template_name"], "pending"
    template.save()
    dispatch.publish(wa_template_review(value), merchant=merchant)
    template.refresh_from_db()
    assert template.status == "approved"
    review = TemplateReview(name=template.name, language="es_ES", event="PAUSED", reason="LOW_QUALITY", raw={})
    dispatch.publish(review, merchant=merchant)
    template.refresh_from_db()
    assert (template.status, template.status_reason) == ("paused", "LOW_QUALITY")


def test_paused_template_cannot_launch(make_campaign, template):
    from apps.campaigns.services import LaunchRefused

    template.status = "paused"
    template.save()
    with pytest.raises(LaunchRefused) as caught:
        campaign_launch(campaign=make_campaign())
    assert caught.value.code == "template_not_approved"
