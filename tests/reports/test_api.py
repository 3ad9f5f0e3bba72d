"""The reports API: the contract's paths and shapes, the range's 400s, roles, scopes and tenancy."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories.campaigns import CampaignFactory, DeliveryFactory
from tests.reports.fixture import WEEK, build_week

REPORTS = ["conversations", "csat", "sla", "agents", "consent"]


def url(name: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in ({**WEEK, **params}).items() if v is not None)
    return f"/api/v1/reports/{name}/?{query}"


@pytest.mark.django_db
def test_conversations_report_has_the_contract_shape(api, merchant):
    build_week(merchant)
    body = api.get(url("conversations")).json()
    assert {"started", "resolved", "reopened", "first_response_seconds", "resolution_seconds", "business_hours",
            "by_channel", "by_day"} <= set(body)  # fmt: skip
    assert set(body["first_response_seconds"]) >= {"median", "p90", "mean"}
    assert set(body["business_hours"]) == {"first_response_seconds", "resolution_seconds"}
    assert (body["started"], body["resolved"], body["reopened"]) == (7, 7, 2)
    assert body["first_response_seconds"]["median"] == 30900 and len(body["by_day"]) == 7


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_answers_for_the_week(api, merchant, name):
    response = api.get(url(name))
    assert response.status_code == 200, response.content
    assert response.json()["from"] == "2026-01-05" and response.json()["to"] == "2026-01-11"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": None}, "from"),
        ({"to": None}, "to"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "05/01/2026"}, "from"),
        ({"to": "2026-01-04"}, "to"),  # before from
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
    ],
)
def test_a_bad_range_is_a_400_naming_the_field(api, params, field):
    response = api.get(url("conversations", **params))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_366_days_is_the_longest_range(api):
    assert api.get(url("csat", **{"from": "2024-01-01", "to": "2024-12-31"})).status_code == 200


def test_roles_admins_and_marketers_only(admin_membership, marketer_membership, agent_membership):
    for membership, status in ((admin_membership, 200), (marketer_membership, 200), (agent_membership, 403)):
        client = APIClient()
        client.force_login(membership.user)
        assert client.get(url("conversations")).status_code == status, membership.role


@pytest.mark.parametrize(("scopes", "status"), [(("read",), 200), (("messaging",), 200), (("marketing",), 200)])
def test_api_key_scopes(merchant, api_client, scopes, status):
    assert api_client(merchant, scopes=scopes).get(url("consent")).status_code == status


def test_no_key_is_a_401(client):
    assert client.get(url("conversations")).status_code == 401


def test_campaign_funnel_reads_the_campaign_results(api, merchant):
    campaign = CampaignFactory(merchant=merchant)
    for state, reason in (("skipped", "no_consent"), ("skipped", "no_consent"), ("skipped", "quiet_hours"),
                          ("failed", ""), ("sent", ""), ("delivered", ""), ("read", "")):  # fmt: skip
        DeliveryFactory(campaign=campaign, state=state, reason=reason)
    body = api.get(f"/api/v1/reports/campaigns/{campaign.pk}/funnel/?{'&'.join(f'{k}={v}' for k, v in WEEK.items())}")
    body = body.json()
    assert (body["audience"], body["reachable"], body["sent"], body["delivered"], body["read"]) == (7, 4, 3, 2, 1)
    assert body["excluded"] == {"no_consent": 2, "quiet_hours": 1}
    assert [step["key"] for step in body["steps"]][:3] == ["audience", "reachable", "sent"]


def test_another_merchants_campaign_is_a_404(api, other_merchant):
    campaign = CampaignFactory(merchant=other_merchant)
    response = api.get(f"/api/v1/reports/campaigns/{campaign.pk}/funnel/?from=2026-01-05&to=2026-01-11")
    assert response.status_code == 404


def test_the_schema_documents_the_reports(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    for name in REPORTS:
        operation = paths[f"/api/v1/reports/{name}/"]["get"]
        assert {"200", "400"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to"}
    assert "404" in paths["/api/v1/reports/campaigns/{id}/funnel/"]["get"]["responses"]


def test_the_funnel_needs_no_range_but_checks_one_given(api, merchant):
    campaign = CampaignFactory(merchant=merchant)
    assert api.get(f"/api/v1/reports/campaigns/{campaign.pk}/funnel/").status_code == 200
    response = api.get(f"/api/v1/reports/campaigns/{campaign.pk}/funnel/?from=2026-01-05")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["to"]
