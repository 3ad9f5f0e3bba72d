from collections import Counter

import pytest

from apps.campaigns.models import CampaignStatus, Delivery, DeliveryState
from apps.campaigns.selectors import campaign_stats
from apps.campaigns.services import batch_run, campaign_launch, campaign_start

pytestmark = pytest.mark.django_db(transaction=True)


def run_all(campaign, limit=50):
    while batch_run(campaign_id=campaign.pk, limit=limit).picked:
        pass


def test_sends_once_to_each_consented_contact_and_explains_the_rest(fake_graph, make_contact, make_campaign):
    granted = [make_contact(tags=["vip"]) for _ in range(5)]
    pending = make_contact(consent="pending", tags=["vip"])
    revoked = make_contact(consent="revoked", tags=["vip"])
    never = make_contact(consent=None, tags=["vip"])
    no_wa = make_contact(tags=["vip"], wa=False, phone="")
    make_contact(tags=["other"])  # outside the segment
    campaign = make_campaign(rules={"tags_any": ["vip"]})

    campaign_launch(campaign=campaign)
    assert campaign_start(campaign_id=campaign.pk)
    run_all(campaign, limit=3)

    assert fake_graph.per_recipient() == Counter({c.phone.lstrip("+"): 1 for c in granted})
    stats = campaign_stats(campaign=campaign)
    assert stats["audience"] == 9
    assert stats["states"]["sent"] == 5
    assert stats["skipped"] == {"pending_confirmation": 1, "revoked": 1, "no_consent": 1, "no_identity": 1}
    assert {d.contact_id: d.reason for d in Delivery.objects.filter(state="skipped")} == {
        pending.pk: "pending_confirmation",
        revoked.pk: "revoked",
        never.pk: "no_consent",
        no_wa.pk: "no_identity",
    }
    body = fake_graph.accepted[0]["body"]
    assert body["type"] == "template" and body["template"]["language"] == {"code": "es_ES"}
    assert body["biz_opaque_callback_data"].startswith("charla-delivery:")
    params = body["template"]["components"][0]["parameters"]
    assert params[0]["parameter_name"] == "first_name" and params[0]["text"].startswith("Contact")
    assert body["template"]["components"][1]["parameters"] == [{"type": "payload", "payload": "STOP_PROMOTIONS"}]


def test_pause_then_resume_never_resends(fake_graph, make_contact, make_campaign):
    from apps.campaigns.services import campaign_pause, campaign_resume

    for _ in range(6):
        make_contact()
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    batch_run(campaign_id=campaign.pk, limit=2)
    campaign_pause(campaign=campaign)
    assert batch_run(campaign_id=campaign.pk, limit=10).picked == 0
    assert len(fake_graph.accepted) == 2
    campaign_resume(campaign=campaign)
    run_all(campaign)
    assert sorted(fake_graph.per_recipient().values()) == [1] * 6
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    assert Delivery.objects.filter(campaign=campaign, state=DeliveryState.SENT).count() == 6


def test_results_explain_replies_and_opt_outs_after_the_campaign(fake_graph, make_contact, make_campaign, channel):
    from apps.campaigns.selectors import campaign_results
    from apps.contacts.services import consent_record
    from tests.factories.conversations import ConversationFactory, MessageFactory

    replier, quitter, silent = make_contact(), make_contact(), make_contact()
    make_contact(consent=None)
    campaign = make_campaign()
    campaign_launch(campaign=campaign)
    campaign_start(campaign_id=campaign.pk)
    run_all(campaign)
    conversation = ConversationFactory(merchant=campaign.merchant, channel=channel, contact=replier, identity=False)
    MessageFactory(conversation=conversation, body="¡Me interesa!")
    MessageFactory(conversation=conversation, body="¿Cuánto cuesta?")  # two replies, one person
    consent_record(
        merchant=campaign.merchant,
        contact=quitter,
        channel="whatsapp",
        purpose="marketing",
        action="revoke",
        source="keyword",
        wording="STOP_PROMOTIONS",
    )
    campaign.refresh_from_db()
    results = campaign_results(campaign=campaign)
    assert results["audience"] == 4 and results["sent_total"] == 3
    assert results["skipped"] == {"no_consent": 1}
    assert (results["replied"], results["opted_out"]) == (1, 1)
    assert silent.pk  # reached, neither replied nor opted out
