"""Property: whatever mix of consent, identity, erasure, caps and quiet hours, a claim sends exactly to
the contacts every rule allows, and records a reason for every other one."""

from datetime import UTC, datetime

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.campaigns.models import Delivery
from apps.campaigns.services import batch_claim, campaign_start
from apps.contacts.models import Contact
from apps.contacts.services import consent_record
from tests.factories.campaigns import CampaignFactory, SegmentFactory
from tests.factories.contacts import ContactFactory, IdentityFactory
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 16:00 Madrid, 23:00 Tokyo, 10:00 New York
PERSON = st.fixed_dictionaries(
    {
        "consent": st.sampled_from(["granted", "pending", "revoked", "none"]),
        "identity": st.sampled_from(["wa", "phone", "none"]),
        "erased": st.booleans(),
        "tz": st.sampled_from(["Europe/Madrid", "Asia/Tokyo", "America/New_York"]),
        "earlier_sends": st.integers(min_value=0, max_value=2),
    }
)


def _person(merchant, spec, n):
    contact = ContactFactory(
        merchant=merchant, timezone=spec["tz"], phone="" if spec["identity"] == "none" else f"+3469{n:07d}"
    )
    if spec["identity"] == "wa":
        IdentityFactory(merchant=merchant, contact=contact, external_id=f"3469{n:07d}")
    record = {
        "merchant": merchant,
        "contact": contact,
        "channel": "whatsapp",
        "purpose": "marketing",
        "source": "web_form",
        "wording": "Offers from Acme on WhatsApp",
    }
    if spec["consent"] in ("granted", "revoked"):
        consent_record(action="grant", **record)
    if spec["consent"] == "pending":
        consent_record(action="grant", double_opt_in=True, **record)
    if spec["consent"] == "revoked":
        consent_record(action="revoke", **record)
    return contact


def _expected(spec, cap):
    if spec["erased"]:
        return "erased"
    if spec["identity"] == "none":
        return "no_identity"
    if spec["consent"] != "granted":
        return {"pending": "pending_confirmation", "revoked": "revoked", "none": "no_consent"}[spec["consent"]]
    if spec["tz"] == "Asia/Tokyo":
        return "held"
    if spec["earlier_sends"] >= cap:
        return "frequency_cap"
    return "send"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(PERSON, min_size=1, max_size=8), cap=st.integers(min_value=1, max_value=2))
def test_claim_sends_exactly_to_the_allowed(people, cap):
    with time_machine.travel(NOW, tick=False):
        merchant = MerchantFactory()
        contacts = [_person(merchant, spec, n) for n, spec in enumerate(people)]
        earlier = CampaignFactory(merchant=merchant, status="completed", segment=SegmentFactory(merchant=merchant))
        for contact, spec in zip(contacts, people, strict=True):
            for _ in range(spec["earlier_sends"]):  # earlier marketing sends today, one campaign each
                other = CampaignFactory(
                    merchant=merchant,
                    channel=earlier.channel,
                    template=earlier.template,
                    segment=earlier.segment,
                    status="completed",
                )
                Delivery.objects.create(
                    merchant=merchant, campaign=other, contact=contact, state="delivered", attempted_at=NOW
                )
        campaign = CampaignFactory(
            merchant=merchant,
            channel=earlier.channel,
            template=earlier.template,
            segment=SegmentFactory(merchant=merchant),
            status="scheduled",
            quiet_hours={"start": "21:00", "end": "09:00"},
            frequency_cap={"max": cap, "period": "day"},
        )
        campaign_start(campaign_id=campaign.pk)
        erased = [c.pk for c, spec in zip(contacts, people, strict=True) if spec["erased"]]
        Contact.objects.filter(pk__in=erased).update(erased_at=NOW)  # after the audience froze, before the claim
        claim = batch_claim(campaign_id=campaign.pk, limit=100)
        claimed = {Delivery.objects.get(pk=did).contact_id for did, _ in claim.items}
        for contact, spec in zip(contacts, people, strict=True):
            delivery = Delivery.objects.get(campaign=campaign, contact=contact)
            expected = _expected(spec, cap)
            if expected == "send":
                assert contact.pk in claimed and delivery.state == "claimed"
            elif expected == "held":
                assert contact.pk not in claimed and delivery.state == "pending" and delivery.not_before > NOW
            else:
                assert contact.pk not in claimed and (delivery.state, delivery.reason) == ("skipped", expected)
