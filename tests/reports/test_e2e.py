"""In a real browser: Chart.js (from npm, through WhiteNoise) draws each chart from the table under it."""

from __future__ import annotations

import pytest

from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.e2e.main_pages import sign_in
from tests.factories.merchants import MembershipFactory, UserFactory
from tests.reports.fixture import WEEK, build_week

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHARTS = """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map(canvas => {
  const chart = Chart.getChart(canvas);
  return chart ? [canvas.dataset.table, chart.config.type, chart.data.datasets.map(d => [d.label, d.data])] : null;
})"""


def test_the_week_charts_are_drawn_from_their_tables(merchant, browser):
    build_week(merchant)
    email = MembershipFactory(merchant=merchant, role=Role.MARKETER, user=UserFactory(email="m@charts.test")).user.email
    with portal_server() as portal:
        page = browser.new_page()
        sign_in(page, portal.url, email)
        page.goto(f"{portal.url}/reports/conversations/?from={WEEK['from']}&to={WEEK['to']}")
        page.wait_for_function("() => window.Chart && document.querySelectorAll('canvas[data-chart]').length > 0")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('canvas[data-chart]')).every(c => Chart.getChart(c))"
        )
        charts = page.evaluate(CHARTS)
        page.close()
    by_day, by_channel = charts
    assert by_day[0:2] == ["by_day-table", "line"]
    assert by_day[2][0] == ["Started", [2, 1, 2, 0, 1, 0, 1]]
    assert by_day[2][2] == ["Reopened", [0, 0, 1, 1, 0, 0, 0]]
    # Only the counted columns are drawn (seconds would flatten them); the durations stay in the table.
    assert [label for label, _ in by_channel[2]] == ["Started", "Resolved", "Reopened"]
