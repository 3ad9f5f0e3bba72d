"""HTTP API: /api/v1/templates/, /api/v1/segments/, /api/v1/campaigns/ (see the contract)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.campaigns import selectors, services
from apps.campaigns.models import Campaign, MessageTemplate, Segment
from apps.campaigns.serializers import (
    DELIVERY_STATES,
    AudiencePreviewOutputSerializer,
    AudiencePreviewSerializer,
    CampaignSerializer,
    DeliverySerializer,
    SegmentSerializer,
    StatsSerializer,
    TemplatePreviewOutputSerializer,
    TemplatePreviewSerializer,
    TemplateSerializer,
    TestSendOutputSerializer,
    TestSendSerializer,
)
from apps.contacts.models import Contact
from apps.core.api.errors import Conflict, Unprocessable
from apps.core.api.pagination import IdCursorPagination
from apps.core.api.schema import error_responses
from apps.core.api.views import MerchantModelViewSet
from apps.core.roles import Capability
from apps.merchants.scopes import ApiScope


def _conflict(exc: services.TransitionRefused) -> Conflict:
    return Conflict(detail=exc.message, code=exc.code)


def _unprocessable(exc: services.LaunchRefused) -> Unprocessable:
    return Unprocessable(detail=exc.message, code=exc.code)


class TemplateViewSet(MerchantModelViewSet):
    api_scopes = (ApiScope.MARKETING,)
    serializer_class = TemplateSerializer
    queryset = MessageTemplate.objects.none()
    required_capability = Capability.TEMPLATES

    def get_base_queryset(self):
        return selectors.template_list(merchant=self.merchant, status=self.request.query_params.get("status"))

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        if data.get("channel_kind", "whatsapp") == "whatsapp" and data.get("status") not in (None, "pending"):
            raise ValidationError({"status": ["WhatsApp templates follow Meta's review; they start pending."]})
        serializer.instance = services.template_create(merchant=self.merchant, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        instance = serializer.instance
        if "channel_kind" in data and data.pop("channel_kind") != instance.channel_kind:
            raise ValidationError({"channel_kind": ["The channel kind of a template cannot change."]})
        if "status" in data and instance.channel_kind == "whatsapp":
            raise ValidationError({"status": ["The status of a WhatsApp template comes from Meta's review."]})
        serializer.instance = services.template_update(template=instance, **data)

    def perform_destroy(self, instance):
        services.template_delete(template=instance)

    @extend_schema(request=TemplatePreviewSerializer, responses=TemplatePreviewOutputSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        template = self.get_object()
        data = TemplatePreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = _contact(self.merchant, data.validated_data["contact"])
        text = services.template_preview(
            template=template,
            contact=contact,
            params=data.validated_data.get("params"),
            fallbacks=data.validated_data.get("fallbacks"),
        )
        return Response({"text": text})


def _contact(merchant, contact_id) -> Contact:
    try:
        return Contact.objects.for_merchant(merchant).get(pk=contact_id)
    except Contact.DoesNotExist:
        raise ValidationError({"contact": ["No contact with this id."]}) from None


class SegmentViewSet(MerchantModelViewSet):
    api_scopes = (ApiScope.MARKETING,)
    serializer_class = SegmentSerializer
    queryset = Segment.objects.none()
    required_capability = Capability.SEGMENTS

    def get_base_queryset(self):
        return selectors.segment_list(merchant=self.merchant)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        counts = selectors.segment_counts(merchant=self.merchant, segments=page)
        context = {**self.get_serializer_context(), "counts": counts}
        return self.get_paginated_response(SegmentSerializer(page, many=True, context=context).data)

    def perform_create(self, serializer):
        serializer.instance = services.segment_create(merchant=self.merchant, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.segment_update(segment=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.segment_delete(segment=instance)

    @extend_schema(request=AudiencePreviewSerializer, responses=AudiencePreviewOutputSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """Live count of unsaved rules and the exclusions a campaign would make on that channel."""
        data = AudiencePreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(selectors.audience_preview(merchant=self.merchant, **data.validated_data))


TRANSITION = {200: CampaignSerializer, **error_responses(409, 422)}


@extend_schema_view(
    partial_update=extend_schema(responses={200: CampaignSerializer, **error_responses(409)}),
    destroy=extend_schema(responses={204: None, **error_responses(409)}),
)
class CampaignViewSet(MerchantModelViewSet):
    api_scopes = (ApiScope.MARKETING,)
    serializer_class = CampaignSerializer
    queryset = Campaign.objects.none()
    required_capability = Capability.CAMPAIGNS

    def get_base_queryset(self):
        return selectors.campaign_list(merchant=self.merchant, status=self.request.query_params.get("status"))

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(
            merchant=self.merchant, created_by=self.acting_user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        try:
            serializer.instance = services.campaign_update(campaign=serializer.instance, **serializer.validated_data)
        except services.TransitionRefused as exc:
            raise _conflict(exc) from None

    def perform_destroy(self, instance):
        try:
            services.campaign_delete(campaign=instance)
        except services.TransitionRefused as exc:
            raise _conflict(exc) from None

    def _transition(self, fn):
        campaign = self.get_object()
        try:
            campaign = fn(campaign=campaign)
        except services.TransitionRefused as exc:
            raise _conflict(exc) from None
        except services.LaunchRefused as exc:
            raise _unprocessable(exc) from None
        except DjangoValidationError as exc:
            raise Unprocessable(detail=" ".join(exc.messages), code="campaign_invalid") from None
        return Response(CampaignSerializer(campaign, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def launch(self, request, pk=None):
        return self._transition(services.campaign_launch)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._transition(services.campaign_pause)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._transition(services.campaign_resume)

    @extend_schema(request=None, responses=TRANSITION)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(services.campaign_cancel)

    @extend_schema(responses=StatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        return Response(selectors.campaign_stats(campaign=self.get_object()))

    @extend_schema(request=TestSendSerializer, responses={200: TestSendOutputSerializer, **error_responses(422)})
    @action(detail=True, methods=["post"], url_path="test-send")
    def test_send(self, request, pk=None):
        campaign = self.get_object()
        data = TestSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = _contact(self.merchant, data.validated_data["contact"])
        try:
            message_id = services.campaign_test_send(campaign=campaign, contact=contact)
        except services.LaunchRefused as exc:
            raise _unprocessable(exc) from None
        return Response({"provider_message_id": message_id})

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=DELIVERY_STATES)], responses=DeliverySerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        campaign = self.get_object()
        state = request.query_params.get("state")
        if state and state not in DELIVERY_STATES:
            raise ValidationError({"state": [f"Choose one of {', '.join(DELIVERY_STATES)}."]})
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.delivery_list(campaign=campaign, state=state), request, view=self)
        return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)
