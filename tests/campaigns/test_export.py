"""The campaign deliveries export: contact names (visitor-controlled) reach the file escaped."""

import csv
import io

import pytest
from django.urls import reverse

from apps.campaigns.services import campaign_start
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory

pytestmark = pytest.mark.django_db

NAMES = ['=HYPERLINK("https://evil.example","Ver")', "+1-1", "-cmd", "@SUM(A1)", "\t=1", "\r=1", "Ana López"]


def test_deliveries_export_escapes_contact_names(merchant, marketer_membership, member_client):
    for name in NAMES:
        ContactFactory(merchant=merchant, name=name, tags=["vip"])
    campaign = CampaignFactory(
        merchant=merchant,
        channel=ChannelFactory(merchant=merchant),
        template=TemplateFactory(merchant=merchant),
        segment=SegmentFactory(merchant=merchant, rules={"tags_any": ["vip"]}),
        status="scheduled",
    )
    campaign_start(campaign_id=campaign.pk)
    response = member_client(marketer_membership).get(reverse("campaigns:export", kwargs={"campaign_id": campaign.pk}))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["contact_name"] for r in rows) == sorted(
        ['\'=HYPERLINK("https://evil.example","Ver")', "'+1-1", "'-cmd", "'@SUM(A1)", "'\t=1", "'\r=1", "Ana López"]
    )
    assert list(rows[0])[:4] == ["delivery_id", "contact_id", "contact_name", "state"]
