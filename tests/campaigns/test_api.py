from datetime import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.campaigns.models import Campaign, Delivery
from apps.campaigns.services import campaign_start
from tests.factories.campaigns import CampaignFactory, DeliveryFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def parts(merchant):
    return {
        "channel": ChannelFactory(merchant=merchant),
        "template": TemplateFactory(merchant=merchant),
        "segment": SegmentFactory(merchant=merchant, rules={"tags_any": ["vip"]}),
    }


def payload(parts, **extra):
    body = {
        "name": "Spring",
        "channel": parts["channel"].pk,
        "template": parts["template"].pk,
        "segment": parts["segment"].pk,
        "params": {"first_name": "name"},
        "fallbacks": {"first_name": "there"},
        "quiet_hours": {"start": "21:00", "end": "09:00"},
        "throttle_per_second": 40,
    }
    body.update(extra)
    return body


def test_template_lifecycle(api):
    response = api.post(
        "/api/v1/templates/",
        {
            "name": "spring_sale",
            "language": "es_ES",
            "category": "marketing",
            "channel_kind": "whatsapp",
            "body": "Hola {{first_name}}",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["variables"] == ["first_name"]
    again = api.post("/api/v1/templates/", {"name": "spring_sale", "language": "es_ES", "body": "x"}, format="json")
    assert again.status_code == 400 and again.json()["error"]["fields"]["name"]
    refused = api.patch(f"/api/v1/templates/{body['id']}/", {"status": "approved"}, format="json")
    assert refused.status_code == 400 and "Meta" in refused.json()["error"]["message"]
    web = api.post(
        "/api/v1/templates/",
        {"name": "Hello", "language": "en", "channel_kind": "webchat", "body": "Hi {{first_name}"},
        format="json",
    )
    assert web.status_code == 400 and "body" in web.json()["error"]["fields"]


def test_template_preview_with_a_contact(api, merchant, other_merchant):
    template = TemplateFactory(merchant=merchant, body="Hola {{first_name}}, tu plan {{plan}}")
    contact = ContactFactory(merchant=merchant, name="Lucía Pérez", attributes={"plan": "pro"})
    url = f"/api/v1/templates/{template.pk}/preview/"
    response = api.post(
        url, {"contact": contact.pk, "params": {"first_name": "first_name", "plan": "attributes.plan"}}, format="json"
    )
    assert response.json() == {"text": "Hola Lucía, tu plan pro"}
    foreign = ContactFactory(merchant=other_merchant)
    assert api.post(url, {"contact": foreign.pk}, format="json").status_code == 400


def test_segment_count_is_read_only_and_live(api, merchant):
    ContactFactory(merchant=merchant, tags=["vip"])
    response = api.post(
        "/api/v1/segments/", {"name": "VIP", "rules": {"tags_any": ["vip"]}, "count": 99}, format="json"
    )
    assert response.status_code == 201 and response.json()["count"] == 1
    ContactFactory(merchant=merchant, tags=["vip"])
    assert api.get(f"/api/v1/segments/{response.json()['id']}/").json()["count"] == 2
    bad = api.post("/api/v1/segments/", {"name": "x", "rules": {"tags_any": "vip"}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["rules"] == [
        "tags_any: give a list of 1 to 100 tags"
    ]


def test_segment_list_query_count_is_constant(api, merchant, django_assert_max_num_queries):
    for i in range(8):
        SegmentFactory(merchant=merchant, rules={"tags_any": [f"t{i}"]})
    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/segments/")
    assert len(response.json()["results"]) == 8


def test_campaign_create_validates_every_field(api, parts, other_merchant):
    foreign_segment = SegmentFactory(merchant=other_merchant)
    response = api.post(
        "/api/v1/campaigns/",
        payload(
            parts,
            segment=foreign_segment.pk,
            quiet_hours={"start": "25:00", "end": "09:00"},
            frequency_cap={"max": 0, "period": "year"},
            params={},
            fallbacks={},
        ),
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"segment"}  # serializer first: foreign id does not exist
    response = api.post(
        "/api/v1/campaigns/",
        payload(
            parts,
            quiet_hours={"start": "25:00", "end": "09:00"},
            frequency_cap={"max": 0, "period": "year"},
            params={},
            fallbacks={},
        ),
        format="json",
    )
    assert set(response.json()["error"]["fields"]) == {"quiet_hours", "frequency_cap", "params"}
    assert Campaign.objects.count() == 0


def test_scheduled_at_without_offset_is_the_merchants_time(api, parts, merchant):
    response = api.post("/api/v1/campaigns/", payload(parts, scheduled_at="2026-12-01T10:00:00"), format="json")
    assert response.status_code == 201, response.json()
    campaign = Campaign.objects.get()
    assert campaign.scheduled_at == datetime.fromisoformat("2026-12-01T09:00:00+00:00")  # Madrid is UTC+1 in winter


def test_transitions_and_409s(api, parts, merchant):
    campaign_id = api.post("/api/v1/campaigns/", payload(parts), format="json").json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}/"
    conflict = api.post(url + "pause/")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == {
        "code": "invalid_transition",
        "message": "Cannot pause a draft campaign (only scheduled or running campaigns can be paused).",
        "fields": {},
    }
    assert api.post(url + "launch/").json()["status"] == "scheduled"
    assert api.post(url + "launch/").status_code == 409
    assert api.patch(url, {"name": "x"}, format="json").status_code == 200  # scheduled is still editable
    assert api.post(url + "pause/").json()["status"] == "paused"
    assert api.post(url + "resume/").json()["status"] == "scheduled"
    assert api.post(url + "cancel/").json()["status"] == "cancelled"
    assert api.post(url + "resume/").status_code == 409
    assert api.patch(url, {"name": "y"}, format="json").status_code == 409
    assert api.delete(url).status_code == 409


def test_launch_refuses_an_unapproved_template_with_422(api, parts):
    parts["template"].status = "rejected"
    parts["template"].save()
    campaign_id = api.post("/api/v1/campaigns/", payload(parts), format="json").json()["id"]
    response = api.post(f"/api/v1/campaigns/{campaign_id}/launch/")
    assert response.status_code == 422 and response.json()["error"]["code"] == "template_not_approved"


def test_stats_shape_and_deliveries(api, parts, merchant):
    for _ in range(3):
        ContactFactory(merchant=merchant, tags=["vip"])
    campaign = CampaignFactory(merchant=merchant, **parts, status="scheduled")
    campaign_start(campaign_id=campaign.pk)
    Delivery.objects.filter(campaign=campaign).order_by("id").filter(
        pk=Delivery.objects.filter(campaign=campaign).order_by("id").first().pk
    ).update(state="skipped", reason="no_consent")
    stats = api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    assert stats == {
        "audience": 3,
        "states": {
            "pending": 2,
            "claimed": 0,
            "sent": 0,
            "delivered": 0,
            "read": 0,
            "failed": 0,
            "skipped": 1,
            "unknown": 0,
        },
        "skipped": {"no_consent": 1},
        "failed": {},
    }
    page = api.get(f"/api/v1/campaigns/{campaign.pk}/deliveries/?state=pending&page_size=1").json()
    assert len(page["results"]) == 1 and page["next"] and page["results"][0]["state"] == "pending"
    second = APIClient()
    second.credentials(HTTP_AUTHORIZATION=api._credentials["HTTP_AUTHORIZATION"])
    assert len(second.get(page["next"]).json()["results"]) == 1
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/deliveries/?state=nope").status_code == 400


def test_campaign_list_query_count(api, merchant, parts, django_assert_max_num_queries):
    for _ in range(6):
        CampaignFactory(merchant=merchant, **parts)
    with django_assert_max_num_queries(5):
        assert len(api.get("/api/v1/campaigns/").json()["results"]) == 6


@pytest.mark.parametrize("path", ["/api/v1/campaigns/", "/api/v1/templates/", "/api/v1/segments/"])
def test_agents_get_403(path, agent_membership, marketer_membership):
    agent = APIClient()
    agent.force_login(agent_membership.user)
    assert agent.get(path).status_code == 403
    marketer = APIClient()
    marketer.force_login(marketer_membership.user)
    assert marketer.get(path).status_code == 200


def test_portal_pages_for_marketers_and_not_agents(member_client, marketer_membership, agent_membership, parts):
    campaign = CampaignFactory(merchant=marketer_membership.merchant, **parts)
    marketer = member_client(marketer_membership)
    for name, kwargs in [
        ("campaigns:list", {}),
        ("campaigns:new", {}),
        ("campaigns:templates", {}),
        ("campaigns:segments", {}),
        ("campaigns:segment_new", {}),
        ("campaigns:detail", {"campaign_id": campaign.pk}),
    ]:
        assert marketer.get(reverse(name, kwargs=kwargs)).status_code == 200, name
        assert member_client(agent_membership).get(reverse(name, kwargs=kwargs)).status_code == 403, name


def test_csv_export_streams_every_delivery(member_client, marketer_membership, parts):
    merchant = marketer_membership.merchant
    for _ in range(3):
        ContactFactory(merchant=merchant, tags=["vip"])
    campaign = CampaignFactory(merchant=merchant, **parts, status="scheduled")
    campaign_start(campaign_id=campaign.pk)
    response = member_client(marketer_membership).get(reverse("campaigns:export", kwargs={"campaign_id": campaign.pk}))
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("delivery_id,contact_id") and len(lines) == 4


def test_audience_count_partial(member_client, marketer_membership):
    merchant = marketer_membership.merchant
    ContactFactory(merchant=merchant, tags=["vip"])
    response = member_client(marketer_membership).get(
        reverse("campaigns:segment_count"), {"tags_any": "vip"}, HTTP_HX_REQUEST="true"
    )
    assert b"<strong>1</strong> contact" in response.content


def test_template_list_query_count(api, merchant, django_assert_max_num_queries):
    for _ in range(6):
        TemplateFactory(merchant=merchant)
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/v1/templates/").json()["results"]) == 6


def test_portal_lists_query_counts(member_client, marketer_membership, parts, django_assert_max_num_queries):
    merchant = marketer_membership.merchant
    for i in range(5):
        CampaignFactory(merchant=merchant, **parts)
        SegmentFactory(merchant=merchant, rules={"tags_any": [f"t{i}"]})
    client = member_client(marketer_membership)
    for name in ("campaigns:list", "campaigns:segments", "campaigns:templates"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200


def test_template_resolver_hook_finds_our_templates(merchant, other_merchant):
    from apps.conversations import extension_points

    template = TemplateFactory(merchant=merchant)
    assert extension_points.resolve_template(merchant=merchant, template_id=template.pk) == template
    assert extension_points.resolve_template(merchant=other_merchant, template_id=template.pk) is None


def test_portal_launch_pause_and_refusals(member_client, marketer_membership, parts):
    campaign = CampaignFactory(merchant=marketer_membership.merchant, **parts)
    client = member_client(marketer_membership)
    kwargs = {"campaign_id": campaign.pk}
    assert client.post(reverse("campaigns:pause", kwargs=kwargs)).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "draft"  # refused with a message, nothing changed
    client.post(reverse("campaigns:launch", kwargs=kwargs))
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    page = client.get(reverse("campaigns:detail", kwargs=kwargs), follow=True)
    assert b"Launched." in page.content
    assert client.get(reverse("campaigns:launch", kwargs=kwargs)).status_code == 405


def test_campaign_list_api_query_count_is_exact_for_1_and_20(api, merchant, parts, django_assert_num_queries):
    CampaignFactory(merchant=merchant, **parts)
    api.get("/api/v1/campaigns/")  # warm the key's last-used write
    with django_assert_num_queries(2) as one:  # the key (its touch is throttled), the page
        first = api.get("/api/v1/campaigns/")
    for _ in range(19):
        CampaignFactory(merchant=merchant, **parts)
    with django_assert_num_queries(len(one.captured_queries)):
        second = api.get("/api/v1/campaigns/")
    assert len(first.json()["results"]) == 1 and len(second.json()["results"]) == 20


def test_campaign_list_page_query_count_is_exact_for_1_and_20(
    member_client, marketer_membership, parts, django_assert_num_queries
):
    merchant = marketer_membership.merchant
    client = member_client(marketer_membership)
    CampaignFactory(merchant=merchant, **parts)
    with django_assert_num_queries(5) as one:
        client.get(reverse("campaigns:list"))
    for _ in range(19):
        CampaignFactory(merchant=merchant, **parts)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(reverse("campaigns:list"))
    assert response.status_code == 200 and response.content.count(b"/campaigns/") >= 20


def _started(merchant, parts, contacts: int) -> Campaign:
    for _ in range(contacts):
        ContactFactory(merchant=merchant, tags=["vip"])
    campaign = CampaignFactory(merchant=merchant, **parts, status="scheduled")
    campaign_start(campaign_id=campaign.pk)
    return campaign


def _add_deliveries(campaign: Campaign, n: int) -> None:
    for _ in range(n):
        DeliveryFactory(campaign=campaign)


def test_results_page_query_count_is_exact_for_1_and_20_deliveries(
    member_client, marketer_membership, parts, django_assert_num_queries
):
    campaign = _started(marketer_membership.merchant, parts, contacts=1)
    client = member_client(marketer_membership)
    page = reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk})
    with django_assert_num_queries(8) as one:
        client.get(page)
    _add_deliveries(campaign, 19)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(page)
    assert response.status_code == 200 and response.context["results"]["audience"] == 20


def test_delivery_list_api_and_csv_query_counts_are_exact_for_1_and_20(
    api, member_client, marketer_membership, merchant, parts, django_assert_num_queries
):
    campaign = _started(merchant, parts, contacts=1)
    client = member_client(marketer_membership)
    deliveries = f"/api/v1/campaigns/{campaign.pk}/deliveries/?page_size=50"
    export = reverse("campaigns:export", kwargs={"campaign_id": campaign.pk})
    api.get(deliveries)  # warm the key's last-used write
    with django_assert_num_queries(3) as api_one:  # the key, the campaign, the page
        api.get(deliveries)
    with django_assert_num_queries(5) as csv_one:
        b"".join(client.get(export).streaming_content)
    _add_deliveries(campaign, 19)
    with django_assert_num_queries(len(api_one.captured_queries)):
        assert len(api.get(deliveries).json()["results"]) == 20
    with django_assert_num_queries(len(csv_one.captured_queries)):
        lines = b"".join(client.get(export).streaming_content).decode().strip().splitlines()
    assert len(lines) == 21
