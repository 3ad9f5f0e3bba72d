"""API shapes. Channel secrets are write-only: no output serializer ever names them."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.contacts.models import Contact
from apps.conversations.models import (
    CannedResponse,
    Channel,
    ChannelKind,
    Conversation,
    ConversationPriority,
    ConversationStatus,
    Message,
)
from apps.conversations.services import channels as channel_rules
from apps.conversations.services.event_shapes import message_error
from apps.conversations.uploads import attachments_published
from apps.core.api.fields import MerchantPrimaryKeyField
from apps.core.api.serializers import InputSerializer, ModelInputSerializer


def _digits(field: str) -> RegexValidator:
    # The channels service holds the rule and its words; repeated as a pattern so the schema states it.
    return RegexValidator(r"^[0-9]+$", message=channel_rules.DIGITS[field])


def _mask(value: str) -> str | None:
    return f"…{value[-4:]}" if value else None


class ChannelSerializer(ModelInputSerializer):
    webhook_url = serializers.SerializerMethodField()
    credentials = serializers.SerializerMethodField()
    phone_number_id = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=64, validators=[_digits("phone_number_id")]
    )
    page_id = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=64, validators=[_digits("page_id")]
    )
    access_token = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=True)
    app_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=255)
    verify_token = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=255)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(
            max_length=300,
            validators=[RegexValidator(r"^https?://", message="a list of origins like https://shop.example")],
        ),
        required=False,
    )
    settings = serializers.DictField(required=False)

    class Meta:
        model = Channel
        fields = [
            "id", "kind", "name", "is_active", "webhook_url", "public_key", "allowed_origins", "settings",
            "credentials", "phone_number_id", "page_id", "access_token", "app_secret", "verify_token",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "public_key", "created_at", "updated_at"]
        validators = []  # uniqueness of the Meta ids is checked by the service (DRF's would make them required)

    def get_webhook_url(self, channel: Channel) -> str | None:
        return channel.webhook_path

    @extend_schema_field(serializers.DictField())
    def get_credentials(self, channel: Channel) -> dict:
        """Which secrets are set (never their values); ids shown by their last four digits."""
        return {
            "phone_number_id": _mask(channel.phone_number_id),
            "page_id": _mask(channel.page_id),
            "access_token": bool(channel.access_token),
            "app_secret": bool(channel.app_secret),
            "verify_token": bool(channel.verify_token),
        }

    def validate_kind(self, value: str) -> str:
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError("cannot be changed; create another channel")
        return value


class ConversationSerializer(serializers.ModelSerializer):
    channel = serializers.IntegerField(source="channel_id", read_only=True)
    contact = serializers.IntegerField(source="contact_id", read_only=True)
    contact_name = serializers.CharField(source="contact.name", read_only=True)
    channel_kind = serializers.CharField(source="channel.kind", read_only=True)
    assignee = serializers.IntegerField(source="assignee_id", read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id", "channel", "channel_kind", "contact", "contact_name", "status", "snoozed_until", "assignee",
            "labels", "priority", "last_message_at", "last_message_preview", "last_inbound_at", "unread_count",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ConversationCreateSerializer(InputSerializer):
    channel = MerchantPrimaryKeyField(queryset=Channel.objects)
    contact = MerchantPrimaryKeyField(queryset=Contact.objects)


class ConversationUpdateSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=ConversationStatus.choices, required=False)
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True)
    assignee = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    labels = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=20)
    priority = serializers.ChoiceField(choices=ConversationPriority.choices, required=False)
    mark_read = serializers.BooleanField(required=False)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("status") == ConversationStatus.SNOOZED and not attrs.get("snoozed_until"):
            raise serializers.ValidationError({"snoozed_until": ["required when snoozing"]})
        return attrs


class MessageSerializer(serializers.ModelSerializer):
    conversation = serializers.IntegerField(source="conversation_id", read_only=True)
    author = serializers.IntegerField(source="author_id", read_only=True, allow_null=True)
    attachments = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id", "conversation", "direction", "author_kind", "author", "kind", "body", "attachments", "status",
            "error", "provider_message_id", "template_name", "template_language", "automated", "created_at",
            "sent_at", "delivered_at", "read_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_error(self, message: Message) -> dict | None:
        return message_error(message)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_attachments(self, message: Message) -> list:
        """Each stored file's `url` is the authorised download (`/api/v1/attachments/{id}/file/`)."""
        return attachments_published(message.attachments)


class TemplateRefSerializer(InputSerializer):
    id = serializers.IntegerField(min_value=1, help_text="the template's id")
    params = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)


class MessageCreateSerializer(InputSerializer):
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    template = TemplateRefSerializer(required=False)
    note = serializers.BooleanField(required=False, default=False)
    # An API key has no person behind it: it must say when a human typed the reply (Messenger HUMAN_AGENT).
    human_agent = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        has_text, has_template = bool((attrs.get("text") or "").strip()), "template" in attrs
        if has_text == has_template:
            raise serializers.ValidationError({"text": ["send either text or template"]})
        if has_template and attrs.get("note"):
            raise serializers.ValidationError({"note": ["a note cannot be a template"]})
        return attrs


class CannedResponseSerializer(ModelInputSerializer):
    class Meta:
        model = CannedResponse
        fields = ["id", "shortcut", "title", "body", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # the per-merchant shortcut uniqueness is the service's


CHANNEL_KINDS = ChannelKind.values
