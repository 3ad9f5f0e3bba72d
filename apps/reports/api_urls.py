from django.urls import path

from apps.reports import api

urlpatterns = [
    path("reports/conversations/", api.ConversationReportApi.as_view(), name="report-conversations"),
    path("reports/csat/", api.CsatReportApi.as_view(), name="report-csat"),
    path("reports/sla/", api.SlaReportApi.as_view(), name="report-sla"),
    path("reports/agents/", api.AgentReportApi.as_view(), name="report-agents"),
    path("reports/consent/", api.ConsentReportApi.as_view(), name="report-consent"),
    path("reports/campaigns/<int:pk>/funnel/", api.CampaignFunnelApi.as_view(), name="report-campaign-funnel"),
]
