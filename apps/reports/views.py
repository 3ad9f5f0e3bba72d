"""Reports in the portal: the range (last 30 days unless chosen), the report and the previous period's,
their tables (tables.py), and the same tables as CSV."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from apps.campaigns.models import Campaign
from apps.core.csv_export import csv_lines, csv_response
from apps.core.permissions import member_required
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.reports import selectors, tables
from apps.reports.ranges import RangeError, range_parse


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    selector: object
    tables: object


REPORTS = {
    r.slug: r
    for r in [
        Report("conversations", "Conversations", selectors.conversation_report, tables.conversation_tables),
        Report("csat", "Satisfaction (CSAT)", selectors.csat_report, tables.csat_tables),
        Report("sla", "SLAs", selectors.sla_report, tables.sla_tables),
        Report("agents", "Agents", selectors.agent_report, tables.agent_tables),
        Report("consent", "Consent growth", selectors.consent_report, tables.consent_tables),
    ]
}


def _period(request):
    return range_parse(params=request.GET, tz=request.merchant.tz, required=False)


def _refused(request, report: Report, exc: RangeError) -> HttpResponse:
    context = {"reports": REPORTS.values(), "report": report, "error": exc, "params": request.GET}
    return render(request, "reports/report.html", context, status=400)


def _tables(request, report: Report):
    period = _period(request)
    current = report.selector(merchant=request.merchant, period=period)
    previous = report.selector(merchant=request.merchant, period=period.previous())
    return period, report.tables(current, previous)


def report_page(request, slug: str):
    report = REPORTS[slug]
    try:
        period, report_tables = _tables(request, report)
    except RangeError as exc:
        return _refused(request, report, exc)
    context = {"reports": REPORTS.values(), "report": report, "period": period, "previous": period.previous(),
               "tables": report_tables}  # fmt: skip
    return render(request, "reports/report.html", context)


def report_csv(request, slug: str):
    report = REPORTS[slug]
    try:
        period, report_tables = _tables(request, report)
    except RangeError as exc:
        return _refused(request, report, exc)
    name = f"{slug}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return _csv(name, report_tables)


def _csv(name: str, report_tables) -> StreamingHttpResponse:
    return csv_response(csv_lines(tables.CSV_HEADER, tables.csv_rows(report_tables)), name)


def _report_view(slug: str, render, name: str):
    @member_required(Capability.REPORTS)
    def view(request):
        return render(request, slug)

    view.__name__ = name
    return view


def page_view(slug: str):
    return _report_view(slug, report_page, f"report_{slug}")


def export_view(slug: str):
    return _report_view(slug, report_csv, f"report_{slug}_csv")


def _campaign(request, campaign_id: int) -> Campaign:
    return access_object(
        Campaign, merchant=request.merchant, pk=campaign_id, queryset=Campaign.objects.select_related("channel")
    )


@member_required(Capability.REPORTS)
def campaign_funnel(request, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    context = {"reports": REPORTS.values(), "campaign": campaign,
               "tables": tables.funnel_tables(selectors.campaign_funnel(campaign=campaign))}  # fmt: skip
    return render(request, "reports/funnel.html", context)


@member_required(Capability.REPORTS)
def campaign_funnel_csv(request, campaign_id: int):
    campaign = _campaign(request, campaign_id)
    return _csv(
        f"campaign-{campaign.pk}-funnel.csv", tables.funnel_tables(selectors.campaign_funnel(campaign=campaign))
    )


@member_required(Capability.REPORTS)
def campaign_index(request):
    campaigns = Campaign.objects.for_merchant(request.merchant).order_by("-id")[:100]
    return render(request, "reports/campaigns.html", {"reports": REPORTS.values(), "campaigns": campaigns})
