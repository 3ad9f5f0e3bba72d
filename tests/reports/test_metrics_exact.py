"""Every report figure over the hand-built week (tests/reports/fixture.py), computed by hand below.

Conversations (Madrid times; business hours Mon-Fri 09:00-17:00):
  C1 WA  Mon 10:00 customer, Ana 10:05, resolved 11:00 (Ana)        FRT 300/300      res 3600/3600
  C2 WA  Mon 16:30 customer, bot 16:31, automated 16:32, Ana Tue 09:30, resolved Tue 10:30 (Ana)
         FRT Mon 16:30 -> Tue 09:30 = 61200; business 16:30-17:00 + 09:00-09:30 = 3600
         res 16:30 -> Tue 10:30 = 64800; business 1800 + 5400 = 7200
  C3 Web Fri 16:00 customer, Bea Mon 12 09:15 (after the week), resolved Mon 12 (outside)
         FRT 65h15m = 234900; business Fri 16:00-17:00 + Mon 09:00-09:15 = 4500
  C4 WA  Tue 20:00 customer, Bea 20:10, resolved 20:30 (Bea); reopened Thu 10:00, Ana 10:20, resolved 11:00 (Bea)
         FRT 600/0 (no second first response); res 1800/0 then 10:00 -> 11:00 = 3600/3600
  C5 Web Wed 11:00 customer, an internal note only: no FRT, no resolution
  C6 WA  Wed 12:00 customer, bot 12:01, resolved 12:10 (nobody); reopened 15:00, Ana 15:30, resolved 16:00 (Ana)
         no FRT (the first period ended without a member reply); res 600/600 and 3600/3600
  C7 WA  Sun 4 10:00 (before the week), Bea 10:30, resolved Mon 09:00 (Bea): res 82800/0 (Sunday, then 09:00)
  C8 Web Sun 11 23:30 Madrid (22:30 UTC): started in the week.  C9 Web Mon 12 00:30 Madrid: outside.

Started 7 (C1-C6, C8): WA 4, web 3. Resolutions 7 (C1, C2, C4 twice, C6 twice, C7), all WA. Reopened 2.
FRT calendar [300, 600, 61200, 234900]: median (600+61200)//2 = 30900, p90 rank ceil(3.6)=4 -> 234900,
    mean 297000/4 = 74250.  Business [0, 300, 3600, 4500]: median 1950, p90 4500, mean 8400/4 = 2100.
Resolution calendar [600, 1800, 3600, 3600, 3600, 64800, 82800]: median 3600, p90 rank 7 -> 82800,
    mean 160800/7 = 22971.  Business [0, 0, 600, 3600, 3600, 3600, 7200]: median 3600, p90 7200, mean 18600/7 = 2657.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.reports import selectors
from apps.reports.ranges import range_parse
from tests.reports.fixture import MADRID, WEEK, at, build_week


def stats(count, median, p90, mean):
    return {"count": count, "median": median, "p90": p90, "mean": mean}


EMPTY = stats(0, None, None, None)


@pytest.fixture
def week(merchant):
    return build_week(merchant)


@pytest.fixture
def period():
    return range_parse(params=WEEK, tz=MADRID)


def test_conversation_volumes_and_days(week, period):
    report = selectors.conversation_report(merchant=week.merchant, period=period)
    assert (report["started"], report["resolved"], report["reopened"]) == (7, 7, 2)
    assert report["from"] == "2026-01-05" and report["to"] == "2026-01-11" and report["timezone"] == "Europe/Madrid"
    days = {row["date"]: (row["started"], row["resolved"], row["reopened"]) for row in report["by_day"]}
    assert days == {
        "2026-01-05": (2, 2, 0),  # C1, C2 started; C1 and C7 resolved
        "2026-01-06": (1, 2, 0),  # C4 started; C2 and C4 resolved
        "2026-01-07": (2, 2, 1),  # C5, C6 started; C6 resolved twice, reopened once
        "2026-01-08": (0, 1, 1),  # C4 reopened and resolved
        "2026-01-09": (1, 0, 0),  # C3
        "2026-01-10": (0, 0, 0),
        "2026-01-11": (1, 0, 0),  # C8 at 23:30 Madrid
    }


def test_first_response_and_resolution_times(week, period):
    report = selectors.conversation_report(merchant=week.merchant, period=period)
    assert report["first_response_seconds"] == stats(4, 30900, 234900, 74250)
    assert report["business_hours"]["first_response_seconds"] == stats(4, 1950, 4500, 2100)
    assert report["resolution_seconds"] == stats(7, 3600, 82800, 22971)
    assert report["business_hours"]["resolution_seconds"] == stats(7, 3600, 7200, 2657)


def test_by_channel(week, period):
    by_channel = selectors.conversation_report(merchant=week.merchant, period=period)["by_channel"]
    wa, web, messenger = by_channel["whatsapp"], by_channel["webchat"], by_channel["messenger"]
    assert (wa["started"], wa["resolved"], wa["reopened"]) == (4, 7, 2)
    assert (web["started"], web["resolved"], web["reopened"]) == (3, 0, 0)
    # WA first responses C1 300, C4 600, C2 61200: median 600, p90 rank 3, mean 62100/3.
    assert wa["first_response_seconds"] == stats(3, 600, 61200, 20700)
    assert web["first_response_seconds"] == stats(1, 234900, 234900, 234900)  # C3
    assert web["resolution_seconds"] == EMPTY
    assert wa["resolution_seconds"] == stats(7, 3600, 82800, 22971)
    assert messenger["started"] == 0 and messenger["first_response_seconds"] == EMPTY


def test_agents_on_the_same_definitions(week, period):
    """Ana: FRT C1 300, C2 61200 (business 300, 3600); resolutions C1 3600, C2 64800, C6 3600 (business
    3600, 7200, 3600); handled C1, C2, C4 (Thursday's reply), C6 = 4 (C5's note is no reply).
    Bea: FRT C4 600, C3 234900 (business 0, 4500); resolutions C4 1800, C4 3600, C7 82800 (business 0, 3600,
    0); handled C4 only (C3's reply is the next week, C7's the week before). C6's first resolution had
    nobody assigned, so 3 + 3 of the merchant's 7 resolutions are the agents'."""
    rows = selectors.agent_report(merchant=week.merchant, period=period)["agents"]
    agents = {row["agent"]["id"]: row for row in rows}
    ana, bea = agents[week.ana.pk], agents[week.bea.pk]
    assert ana["handled"] == 4 and bea["handled"] == 1
    assert ana["first_response_seconds"] == stats(2, 30750, 61200, 30750)
    assert ana["business_hours"]["first_response_seconds"] == stats(2, 1950, 3600, 1950)
    assert ana["resolution_seconds"] == stats(3, 3600, 64800, 24000)
    assert ana["business_hours"]["resolution_seconds"] == stats(3, 3600, 7200, 4800)
    assert bea["first_response_seconds"] == stats(2, 117750, 234900, 117750)
    assert bea["business_hours"]["first_response_seconds"] == stats(2, 2250, 4500, 2250)
    assert bea["resolution_seconds"] == stats(3, 3600, 82800, 29400)
    assert bea["business_hours"]["resolution_seconds"] == stats(3, 0, 3600, 1200)
    # CSAT per assignee: Ana 5 and 4 of 2 sent; Bea 2 of 2 sent (one unanswered).
    assert ana["csat"] == {
        "sent": 2, "answered": 2, "response_rate": 1.0, "score": 4.5,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    }  # fmt: skip
    assert (bea["csat"]["sent"], bea["csat"]["answered"], bea["csat"]["response_rate"], bea["csat"]["score"]) == (
        2, 1, 0.5, 2.0,
    )  # fmt: skip


def test_csat(week, period):
    """Sent in the week: 5 (the Monday-12 one is outside); answered 5, 4, 2, 5: score 16/4 = 4.0, rate 4/5."""
    assert selectors.csat_report(merchant=week.merchant, period=period) == {
        **WEEK, "timezone": "Europe/Madrid",
        "sent": 5, "answered": 4, "response_rate": 0.8, "score": 4.0,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2},
    }  # fmt: skip


def test_sla_per_policy_and_target(week, period):
    """Standard first response: S1 achieved, S2 flagged, S3 overdue -> 1 / 2 / 0, rate 1/3.
    Standard resolution: S1 late, S3 overdue, S2 not yet due -> 0 / 2 / 1, rate 0/2. VIP first response:
    S4 on time (S5 is the next week). Totals 2 / 4 / 1, rate 2/6."""
    now = datetime(2026, 1, 20, tzinfo=UTC)
    report = selectors.sla_report(merchant=week.merchant, period=period, now=now)
    rows = {(row["policy"]["name"], row["metric"]): row for row in report["policies"]}
    assert set(rows) == {("Standard", "first_response"), ("Standard", "resolution"), ("VIP", "first_response")}
    figures = ("achieved", "breached", "pending", "achieved_rate")
    assert [rows["Standard", "first_response"][k] for k in figures] == [1, 2, 0, 0.3333]
    assert [rows["Standard", "resolution"][k] for k in figures] == [0, 2, 1, 0.0]
    assert [rows["VIP", "first_response"][k] for k in figures] == [1, 0, 0, 1.0]
    assert rows["Standard", "resolution"]["target_seconds"] == 28800
    assert [report[k] for k in figures] == [2, 4, 1, 0.3333]


def test_consent_growth(week, period):
    """Marketing in the week: grants web_form, keyword, import, the confirmed double opt-in (its pending
    grant is not one) = 4; revokes keyword, provider_error = 2; the utility grant and next week's are out."""
    report = selectors.consent_report(merchant=week.merchant, period=period)
    assert (report["grants"], report["revokes"], report["net"]) == (4, 2, 2)
    assert report["by_channel"]["whatsapp"] == {"grants": 3, "revokes": 1, "net": 2}
    assert report["by_channel"]["messenger"] == {"grants": 1, "revokes": 1, "net": 0}
    assert report["by_channel"]["email"] == {"grants": 0, "revokes": 0, "net": 0}
    assert report["by_source"]["keyword"] == {"grants": 2, "revokes": 1, "net": 1}
    assert report["by_source"]["web_form"] == {"grants": 1, "revokes": 0, "net": 1}
    assert report["by_source"]["provider_error"] == {"grants": 0, "revokes": 1, "net": -1}


def test_an_empty_range_has_zeros_and_no_statistics(week):
    period = range_parse(params={"from": "2025-06-01", "to": "2025-06-02"}, tz=MADRID)
    report = selectors.conversation_report(merchant=week.merchant, period=period)
    assert (report["started"], report["resolved"], report["reopened"]) == (0, 0, 0)
    assert report["first_response_seconds"] == EMPTY and len(report["by_day"]) == 2
    assert selectors.csat_report(merchant=week.merchant, period=period)["score"] is None


def test_another_merchants_rows_never_count(week, period, other_merchant):
    build_week(other_merchant)
    assert selectors.conversation_report(merchant=week.merchant, period=period)["started"] == 7


def test_reports_read_a_constant_number_of_queries(week, period, django_assert_num_queries):
    # Business hours, starts, lifecycle, first responses and their replies, resolutions.
    with django_assert_num_queries(6):
        selectors.conversation_report(merchant=week.merchant, period=period)
    assert at("2026-01-05 00:00") == period.start


@pytest.mark.parametrize(
    ("name", "queries"),
    [("csat_report", 1), ("sla_report", 1), ("consent_report", 1), ("agent_report", 7)],
)
def test_each_report_reads_a_fixed_number_of_queries(week, period, django_assert_num_queries, name, queries):
    with django_assert_num_queries(queries):
        getattr(selectors, name)(merchant=week.merchant, period=period)
