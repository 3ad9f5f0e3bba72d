"""Campaigns to people known only by a WhatsApp business-scoped user id: addressed in `recipient`, sent once,
and settled by the status webhook that names them by `recipient_user_id`."""

from collections import Counter

import pytest

from apps.campaigns.models import Delivery
from apps.campaigns.selectors import campaign_stats
from apps.campaigns.services import batch_run, campaign_launch, campaign_start
from apps.conversations.models import WebhookEvent
from apps.conversations.services.inbound import webhook_event_process
from tests.conversations.conftest import post_webhook  # noqa: F401 - fixture
from tests.factories.contacts import IdentityFactory
from tests.samples import WA_BSUID, sample

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(campaign) -> None:
    while batch_run(campaign_id=campaign.pk, limit=50).picked:
        pass


@pytest.fixture
def user_id_only(make_contact):
    contact = make_contact(wa=False, phone="")
    IdentityFactory(contact=contact, kind="whatsapp_user", external_id=WA_BSUID)
    return contact


def test_a_consented_user_id_only_contact_is_sent_once_in_recipient(
    fake_graph, make_contact, make_campaign, user_id_only
):
    both = make_contact()  # a number and a user id: the number wins
    IdentityFactory(contact=both, kind="whatsapp_user", external_id="ES.55501")
    unconsented = make_contact(consent=None, wa=False, phone="")
    IdentityFactory(contact=unconsented, kind="whatsapp_user", external_id="ES.55502")
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    assert campaign_start(campaign_id=campaign.pk)
    run_all(campaign)
    run_all(campaign)  # a second pass finds nothing left to send

    number = both.phone.lstrip("+")
    assert fake_graph.per_recipient() == Counter({WA_BSUID: 1, number: 1})
    bodies = {item["to"]: item["body"] for item in fake_graph.accepted}
    assert (bodies[WA_BSUID]["recipient"], "to" in bodies[WA_BSUID]) == (WA_BSUID, False)
    assert (bodies[number]["to"], "recipient" in bodies[number]) == (number, False)
    assert Delivery.objects.get(contact=user_id_only).state == "sent"
    stats = campaign_stats(campaign=campaign)
    assert (stats["states"]["sent"], stats["skipped"]) == (2, {"no_consent": 1})


def test_a_status_naming_only_the_user_id_settles_the_delivery(
    fake_graph,
    make_campaign,
    user_id_only,
    channel,
    post_webhook,  # noqa: F811
):
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    run_all(campaign)
    [sent] = fake_graph.accepted
    payload = sample("whatsapp/status_read_bsuid.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = channel.phone_number_id
    value["statuses"][0].update(id=sent["wamid"], biz_opaque_callback_data=sent["opaque"])
    assert "recipient_id" not in value["statuses"][0]
    assert post_webhook(channel, payload).status_code == 200
    for event in WebhookEvent.objects.order_by("id"):
        result = webhook_event_process(event_id=event.pk)
        assert (result.errors, result.rejected, result.unmatched_statuses) == ([], [], [])
    delivery = Delivery.objects.get(contact=user_id_only)
    assert (delivery.state, delivery.provider_message_id) == ("read", sent["wamid"])
    assert delivery.read_at.timestamp() == 1764144930
