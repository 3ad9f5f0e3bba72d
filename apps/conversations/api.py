"""REST API: channels, conversations (+ messages), canned responses. Thin: parse -> service -> serialize."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.conversations import extension_points, selectors, services
from apps.conversations.models import CannedResponse, Channel, Conversation, ConversationStatus, Message
from apps.conversations.policy import PolicyRefused
from apps.conversations.serializers import (
    CannedResponseSerializer,
    ChannelSerializer,
    ConversationCreateSerializer,
    ConversationSerializer,
    ConversationUpdateSerializer,
    MessageCreateSerializer,
    MessageSerializer,
)
from apps.core import inputs
from apps.core.api.errors import Conflict, Unprocessable
from apps.core.api.pagination import IdCursorPagination, KeysetPagination
from apps.core.api.schema import error_responses
from apps.core.api.views import MerchantAPIView, MerchantModelViewSet, MerchantViewSet
from apps.core.downloads import download_response
from apps.core.roles import Capability
from apps.core.transactions import retry_on_conflict
from apps.merchants.scopes import ApiScope

SECRET_AND_ID_FIELDS = ("phone_number_id", "page_id", "access_token", "app_secret", "verify_token")


class ConversationCursorPagination(KeysetPagination):
    """Most recent activity first, keyset on (last_message_at, id): the inbox's order and its indexes."""

    ordering = ("-last_message_at", "-id")


class MessageCursorPagination(IdCursorPagination):
    """One conversation's messages, newest first, on message_conversation_id (selectors.message_queryset)."""

    scope = ("conversation_id",)


@extend_schema_view(destroy=extend_schema(responses={204: None, **error_responses(409)}))
class ChannelViewSet(MerchantModelViewSet):
    """Channels. Everyone with inbox access may list them; only admins configure them. Secrets are write-only."""

    api_scopes = (ApiScope.ADMIN,)

    serializer_class = ChannelSerializer
    queryset = Channel.objects.none()
    required_capability = Capability.SETTINGS
    capabilities = {"list": Capability.INBOX, "retrieve": Capability.INBOX}

    def get_base_queryset(self):
        return selectors.channel_list(merchant=self.merchant)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.channel_create(
            merchant=self.merchant, kind=data.pop("kind"), name=data.pop("name"), **data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("kind", None)
        serializer.instance = services.channel_update(channel=serializer.instance, **data)

    def perform_destroy(self, instance):
        from apps.conversations.services.channels import ChannelInUse

        try:
            services.channel_delete(channel=instance)
        except ChannelInUse as exc:
            raise Conflict(detail=str(exc), code="channel_in_use") from None


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    number = inputs.ascii_int(value)
    if number is None:
        raise ValidationError({name: "must be an integer id"})
    return number


LIST_FILTERS = [
    OpenApiParameter("status", str, enum=ConversationStatus.values),
    OpenApiParameter("channel", int),
    OpenApiParameter("contact", int),
    OpenApiParameter("assignee", str, pattern="^([0-9]+|me|none)?$", description="a user id, `me` or `none`"),
    OpenApiParameter("label", str),
    OpenApiParameter("q", str, description="search in contact name, phone and last message"),
]


@extend_schema_view(list=extend_schema(parameters=LIST_FILTERS))
class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, MerchantViewSet):
    """Conversations, newest activity first. PATCH changes status, assignee, labels, priority."""

    api_scopes = (ApiScope.MESSAGING,)

    serializer_class = ConversationSerializer
    queryset = Conversation.objects.none()
    pagination_class = ConversationCursorPagination
    required_capability = Capability.INBOX

    def get_base_queryset(self):
        qs = selectors.conversation_queryset(merchant=self.merchant)
        if self.action != "list":
            return qs
        params = self.request.query_params
        status_filter = params.get("status") or None
        if status_filter and status_filter not in ConversationStatus.values:
            raise ValidationError({"status": f"must be one of {', '.join(ConversationStatus.values)}"})
        return selectors.conversation_filter(
            self._assignee_filter(qs, params.get("assignee")),
            status=status_filter,
            channel_id=_int_param(self.request, "channel"),
            contact_id=_int_param(self.request, "contact"),
            label=params.get("label") or None,
            search=params.get("q") or None,
        )

    def _assignee_filter(self, qs, value: str | None):
        if value in (None, ""):
            return qs
        if value == "none":
            return qs.filter(assignee__isnull=True)
        if value == "me":  # an API key has no person behind it: nothing is "mine"
            return qs.filter(assignee_id=self.acting_user.pk) if self.acting_user else qs.none()
        if (assignee_id := inputs.ascii_int(value)) is not None:
            return qs.filter(assignee_id=assignee_id)
        raise ValidationError({"assignee": "must be a user id, `me` or `none`"})

    @extend_schema(
        request=ConversationCreateSerializer, responses={201: ConversationSerializer, 200: ConversationSerializer}
    )
    def create(self, request):
        """Start a conversation with a contact (201), or get the unresolved one it already has (200)."""
        data = ConversationCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        conversation, created = services.conversation_start(**data.validated_data)
        row = selectors.conversation_queryset(merchant=self.merchant).get(pk=conversation.pk)
        return Response(ConversationSerializer(row).data, status=status.HTTP_201_CREATED if created else 200)

    @extend_schema(request=ConversationUpdateSerializer, responses=ConversationSerializer)
    def partial_update(self, request, pk=None):
        conversation = self.get_object()
        data = ConversationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            conversation = self._apply(conversation, data.validated_data)
        return Response(
            ConversationSerializer(selectors.conversation_queryset(merchant=self.merchant).get(pk=conversation.pk)).data
        )

    def _apply(self, conversation: Conversation, data: dict) -> Conversation:
        if "assignee" in data:
            user = None
            if data["assignee"] is not None:
                user = get_user_model().objects.filter(pk=data["assignee"]).first()
                if user is None:
                    raise ValidationError({"assignee": "is not an agent of this merchant"})
            conversation = services.conversation_assign(conversation=conversation, assignee=user)
        if "status" in data:
            conversation = services.conversation_set_status(
                conversation=conversation, status=data["status"], snoozed_until=data.get("snoozed_until")
            )
        if "labels" in data:
            conversation = services.conversation_set_labels(conversation=conversation, labels=data["labels"])
        if "priority" in data:
            conversation = services.conversation_set_priority(conversation=conversation, priority=data["priority"])
        if data.get("mark_read"):
            conversation = services.conversation_mark_read(conversation=conversation, user=self.acting_user)
        return conversation

    @extend_schema(methods=["GET"], responses=MessageSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=MessageCreateSerializer, responses={201: MessageSerializer, **error_responses(422)}
    )
    @action(detail=True, methods=["get", "post"], url_path="messages", url_name="messages")
    def messages(self, request, pk=None):
        conversation = self.get_object()
        if request.method == "POST":
            return self._send(conversation, request)
        qs = selectors.message_queryset(merchant=self.merchant, conversation_id=conversation.pk)
        paginator = MessageCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)

    def _send(self, conversation: Conversation, request) -> Response:
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        template, params = None, None
        if "template" in values:
            template = extension_points.resolve_template(merchant=self.merchant, template_id=values["template"]["id"])
            if template is None:
                raise Unprocessable(detail="No template with this id.", code="template_not_found")
            params = values["template"].get("params") or {}
        try:
            message = retry_on_conflict(
                lambda: services.message_send(
                    conversation=conversation,
                    author=self.acting_user,
                    text=values.get("text") or "",
                    template=template,
                    template_params=params,
                    is_note=values.get("note", False),
                    human_agent=values.get("human_agent"),
                )
            )
        except PolicyRefused as exc:
            raise Unprocessable(detail=exc.message, code=exc.code) from None
        return Response(MessageSerializer(Message.objects.get(pk=message.pk)).data, status=status.HTTP_201_CREATED)


class CannedResponseViewSet(MerchantModelViewSet):
    api_scopes = (ApiScope.MESSAGING,)
    serializer_class = CannedResponseSerializer
    queryset = CannedResponse.objects.none()
    required_capability = Capability.INBOX

    def get_base_queryset(self):
        return selectors.canned_response_list(merchant=self.merchant, search=self.request.query_params.get("q"))

    def perform_create(self, serializer):
        serializer.instance = services.canned_response_create(
            merchant=self.merchant, created_by=self.acting_user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.canned_response_update(canned=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.canned_response_delete(canned=instance)


class AttachmentFileApi(MerchantAPIView):
    """A message's stored file, for the merchant's members and API keys only, always as a download."""

    api_scopes = (ApiScope.MESSAGING,)

    required_capability = Capability.INBOX

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        attachment = selectors.attachment_stored(merchant=self.merchant, attachment_id=pk)
        return download_response(attachment.file.open("rb"), filename=attachment.filename)
