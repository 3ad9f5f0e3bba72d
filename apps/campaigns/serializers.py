from __future__ import annotations

from rest_framework import serializers

from apps.campaigns.models import Campaign, Delivery, DeliveryState, MessageTemplate, Segment, TemplateStatus
from apps.campaigns.services import campaigns as campaign_fields
from apps.conversations.models import Channel, ChannelKind
from apps.core.api.fields import MerchantPrimaryKeyField
from apps.core.api.serializers import InputSerializer, ModelInputSerializer, ShapedJSONField

RULES_SHAPE = {"type": "object", "description": 'e.g. {"tags_any": ["vip"]}; the rules are listed in README, Segments'}


class TemplateSerializer(ModelInputSerializer):
    variables = serializers.ListField(child=serializers.CharField(), read_only=True)
    buttons = ShapedJSONField(
        shape={"type": "array", "maxItems": 3, "items": {"type": "object"}, "description": "quick-reply buttons"},
        required=False,
    )
    status = serializers.ChoiceField(choices=TemplateStatus.choices, required=False)

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "channel_kind",
            "category",
            "language",
            "body",
            "variables",
            "header_media_url",
            "header_media_type",
            "buttons",
            "status",
            "status_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status_reason", "created_at", "updated_at"]
        validators: list = []  # uniqueness is checked by the service with a precise message


class TemplatePreviewSerializer(InputSerializer):
    contact = serializers.IntegerField()
    params = serializers.DictField(child=serializers.CharField(), required=False)
    fallbacks = serializers.DictField(child=serializers.CharField(), required=False)


class TemplatePreviewOutputSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="the body as this contact would receive it")


class SegmentSerializer(ModelInputSerializer):
    count = serializers.SerializerMethodField()
    rules = ShapedJSONField(shape=RULES_SHAPE, required=False)

    class Meta:
        model = Segment
        fields = ["id", "name", "rules", "count", "created_at", "updated_at"]
        read_only_fields = ["id", "count", "created_at", "updated_at"]

    def get_count(self, segment: Segment) -> int:
        counts = self.context.get("counts") or {}
        if segment.pk in counts:
            return counts[segment.pk]
        from apps.campaigns.selectors import segment_count

        return segment_count(merchant=segment.merchant_id, rules=segment.rules)


class AudiencePreviewSerializer(InputSerializer):
    rules = ShapedJSONField(shape=RULES_SHAPE)
    channel_kind = serializers.ChoiceField(choices=ChannelKind.choices, default=ChannelKind.WHATSAPP)


class AudiencePreviewOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    excluded = serializers.DictField(child=serializers.IntegerField(), help_text="reason -> contacts left out")
    reachable = serializers.IntegerField()


HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}


class CampaignSerializer(ModelInputSerializer):
    channel = MerchantPrimaryKeyField(queryset=Channel.objects)
    template = MerchantPrimaryKeyField(queryset=MessageTemplate.objects)
    segment = MerchantPrimaryKeyField(queryset=Segment.objects)
    params = serializers.DictField(child=serializers.CharField(), required=False)
    fallbacks = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    quiet_hours = ShapedJSONField(
        shape={
            "type": "object",
            "properties": {"start": HHMM, "end": HHMM},
            "required": ["start", "end"],
            "description": "in each contact's timezone",
        },
        required=False,
        allow_null=True,
    )
    frequency_cap = ShapedJSONField(shape={"type": "object"}, required=False, allow_null=True)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)

    class Meta:
        model = Campaign
        read_only_fields = [
            "id",
            "status",
            "audience_size",
            "launched_at",
            "started_at",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        fields = ["id", *campaign_fields.FIELDS, *read_only_fields[1:]]
        # The service's bound, stated where the schema can show it (0 = no local limit, null = the provider's).
        extra_kwargs = {
            "throttle_per_second": {"max_value": 1000},
            # Only the portal's step-by-step drafts start without an audience; the API names it up front.
            "segment": {"required": True, "allow_null": False},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        merchant = self.context.get("merchant")
        if merchant is not None:  # a date-time without an offset is read in the merchant's zone
            self.fields["scheduled_at"].timezone = merchant.tz


class TestSendSerializer(InputSerializer):
    contact = serializers.IntegerField()


class TestSendOutputSerializer(serializers.Serializer):
    provider_message_id = serializers.CharField()


class DeliverySerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.name", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "contact",
            "contact_name",
            "state",
            "reason",
            "error_code",
            "error_message",
            "provider_message_id",
            "attempted_at",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
        ]
        read_only_fields = fields


class StatsSerializer(serializers.Serializer):
    audience = serializers.IntegerField()
    states = serializers.DictField(child=serializers.IntegerField())
    skipped = serializers.DictField(child=serializers.IntegerField())
    failed = serializers.DictField(child=serializers.IntegerField())


DELIVERY_STATES = [s.value for s in DeliveryState]
