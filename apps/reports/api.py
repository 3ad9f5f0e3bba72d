"""Reports over the API: parse the range, call one selector, answer its dict (shapes in serializers.py)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.campaigns.models import Campaign
from apps.core.api.schema import error_responses
from apps.core.api.views import MerchantAPIView
from apps.core.roles import Capability
from apps.core.tenancy import access_object
from apps.merchants.scopes import ApiScope
from apps.reports import selectors, serializers
from apps.reports.ranges import MAX_DAYS, RangeError, ReportRange, range_parse

RANGE_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="First day, in the merchant's time zone."),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, required=True, description=f"Last day (inclusive); at most {MAX_DAYS} days in all."
    ),
]


class _ReportApi(MerchantAPIView):
    api_scopes = (ApiScope.MESSAGING, ApiScope.MARKETING)
    required_capability = Capability.REPORTS
    selector = None

    def period(self, request) -> ReportRange:
        try:
            return range_parse(params=request.query_params, tz=self.merchant.tz)
        except RangeError as exc:
            raise ValidationError({exc.field: [exc.message]}) from None

    def get(self, request):
        return Response(type(self).selector(merchant=self.merchant, period=self.period(request)))


def _documented(serializer):
    return extend_schema(parameters=RANGE_PARAMETERS, responses={200: serializer, **error_responses(400)})


class ConversationReportApi(_ReportApi):
    """Conversations started / resolved / reopened, first response and resolution times (README: Reports)."""

    selector = staticmethod(selectors.conversation_report)

    @_documented(serializers.ConversationReportSerializer)
    def get(self, request):
        return super().get(request)


class CsatReportApi(_ReportApi):
    """CSAT score, response rate and distribution of the surveys sent in the range."""

    selector = staticmethod(selectors.csat_report)

    @_documented(serializers.CsatReportSerializer)
    def get(self, request):
        return super().get(request)


class SlaReportApi(_ReportApi):
    """SLA targets achieved / breached / pending per policy and target, tickets created in the range."""

    selector = staticmethod(selectors.sla_report)

    @_documented(serializers.SlaReportSerializer)
    def get(self, request):
        return super().get(request)


class AgentReportApi(_ReportApi):
    """Per member: handled, first response, resolution and CSAT on the merchant's definitions."""

    selector = staticmethod(selectors.agent_report)

    @_documented(serializers.AgentReportSerializer)
    def get(self, request):
        return super().get(request)


class ConsentReportApi(_ReportApi):
    """Marketing consent grants, revokes and net growth, by channel and source."""

    selector = staticmethod(selectors.consent_report)

    @_documented(serializers.ConsentReportSerializer)
    def get(self, request):
        return super().get(request)


OPTIONAL_RANGE = [
    OpenApiParameter(p.name, p.type, required=False, description=f"{p.description} Checked when given; the funnel "
                     "is the whole campaign's.") for p in RANGE_PARAMETERS
]  # fmt: skip


class CampaignFunnelApi(_ReportApi):
    """The campaign's funnel: audience, exclusions by reason, sent, delivered, read, replied, opted out."""

    api_scopes = (ApiScope.MARKETING,)

    @extend_schema(
        parameters=OPTIONAL_RANGE,
        responses={200: serializers.ReportCampaignFunnelSerializer, **error_responses(400, 404)},
    )
    def get(self, request, pk: int):
        campaign = access_object(
            Campaign, merchant=self.merchant, pk=pk, queryset=Campaign.objects.select_related("channel")
        )
        if request.query_params.get("from") or request.query_params.get("to"):
            self.period(request)
        return Response(selectors.campaign_funnel(campaign=campaign))
