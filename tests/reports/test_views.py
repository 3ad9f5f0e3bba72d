"""The Reports pages: who may open them, the default range, the comparison, tables, charts and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest

from tests.factories.campaigns import CampaignFactory, DeliveryFactory
from tests.reports.fixture import MADRID, WEEK, build_week

PAGES = ["/reports/", "/reports/conversations/", "/reports/csat/", "/reports/sla/", "/reports/agents/",
         "/reports/consent/", "/reports/campaigns/"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_admins_and_marketers_open_every_page_agents_are_refused(
    path, member_client, admin_membership, marketer_membership, agent_membership
):
    assert member_client(admin_membership).get(path).status_code == 200
    assert member_client(marketer_membership).get(path).status_code == 200
    assert member_client(agent_membership).get(path).status_code == 403


def test_the_nav_links_reports_for_those_who_may_open_it(member_client, marketer_membership, agent_membership):
    assert 'href="/reports/"' in member_client(marketer_membership).get("/").content.decode()
    assert 'href="/reports/"' not in member_client(agent_membership).get("/").content.decode()


def test_the_default_range_is_the_last_30_days_against_the_30_before(member_client, admin_membership):
    response = member_client(admin_membership).get("/reports/conversations/")
    period = response.context["period"]
    today = datetime.now(MADRID).date()
    assert (period.first, period.last) == (today - timedelta(days=29), today)
    previous = response.context["previous"]
    assert (previous.first, previous.last) == (today - timedelta(days=59), today - timedelta(days=30))


def test_the_week_with_its_comparison_tables_and_charts(member_client, admin_membership):
    build_week(admin_membership.merchant)
    page = member_client(admin_membership).get("/reports/conversations/", WEEK)
    html = page.content.decode()
    summary = page.context["tables"][0]
    started = next(row for row in summary.rows if row[0] == "Conversations started")
    # The week before (29 Dec - 4 Jan) started C7 only.
    assert started[1:] == [(7, "count"), (1, "count"), (6, "count")]
    assert page.context["previous"].first == date(2025, 12, 29)
    assert 'data-chart="line"' in html and 'data-table="by_day-table"' in html
    assert "vendor/chart.js/chart.umd.min.js" in html and "reports/charts.js" in html
    assert "8 h 35 min" in html  # the FRT median 30900 s
    assert "reopening never inflates it" in html  # the definition, from metrics.METRICS


def test_a_bad_range_is_a_400_page_naming_the_field(member_client, admin_membership):
    response = member_client(admin_membership).get("/reports/csat/", {"from": "2026-02-10", "to": "2026-02-01"})
    assert response.status_code == 400
    assert "To: “to” is before “from”." in response.content.decode()
    assert member_client(admin_membership).get("/reports/csat/export.csv", {"from": "x"}).status_code == 400


def test_csv_has_every_cell_of_the_page(member_client, admin_membership):
    build_week(admin_membership.merchant)
    response = member_client(admin_membership).get("/reports/conversations/export.csv", WEEK)
    assert response["Content-Disposition"] == 'attachment; filename="conversations-2026-01-05-2026-01-11.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["table", "row", "column", "value"]
    assert ["Summary", "Conversations started", "This period", "7"] in rows
    assert ["Summary", "First response median", "This period", "30900"] in rows  # seconds, unformatted
    assert ["By day", "2026-01-07", "Reopened", "1"] in rows
    assert ["By channel", "WhatsApp", "Resolved", "7"] in rows


def test_campaign_funnel_page_and_csv(member_client, marketer_membership, other_merchant):
    campaign = CampaignFactory(merchant=marketer_membership.merchant, name="Rebajas")
    DeliveryFactory(campaign=campaign, state="skipped", reason="no_consent")
    DeliveryFactory(campaign=campaign, state="read")
    client = member_client(marketer_membership)
    assert "Rebajas" in client.get("/reports/campaigns/").content.decode()
    assert client.get(f"/reports/campaigns/{campaign.pk}/").status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(client.get(f"/reports/campaigns/{campaign.pk}/export.csv")
                                                .streaming_content).decode())))  # fmt: skip
    assert ["Funnel", "Audience", "Contacts", "2"] in rows
    assert ["Excluded, by reason", "no consent", "Contacts", "1"] in rows
    assert client.get(f"/reports/campaigns/{CampaignFactory(merchant=other_merchant).pk}/").status_code == 404
