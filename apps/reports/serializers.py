"""The reports' output shapes, for the OpenAPI schema (the selectors build the dicts; these describe them)."""

from rest_framework import serializers

from apps.conversations.models import ChannelKind


class RangeFieldsSerializer(serializers.Serializer):
    # `from` is a Python keyword: declared below through the fields dict.
    to = serializers.DateField()
    timezone = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.DateField(), **fields}


class StatsSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    median = serializers.IntegerField(allow_null=True)
    p90 = serializers.IntegerField(allow_null=True)
    mean = serializers.IntegerField(allow_null=True)


class BusinessTimingSerializer(serializers.Serializer):
    first_response_seconds = StatsSerializer()
    resolution_seconds = StatsSerializer()


class TimingSerializer(BusinessTimingSerializer):
    business_hours = BusinessTimingSerializer()


class VolumeSerializer(serializers.Serializer):
    started = serializers.IntegerField(min_value=0)
    resolved = serializers.IntegerField(min_value=0)
    reopened = serializers.IntegerField(min_value=0)


class ChannelFiguresSerializer(VolumeSerializer, TimingSerializer):
    pass


class DayFiguresSerializer(VolumeSerializer):
    date = serializers.DateField()


class ByChannelSerializer(serializers.Serializer):
    def get_fields(self):
        return {kind: ChannelFiguresSerializer() for kind in ChannelKind.values}


class ConversationReportSerializer(RangeFieldsSerializer, VolumeSerializer, TimingSerializer):
    by_channel = ByChannelSerializer()
    by_day = DayFiguresSerializer(many=True)


class DistributionSerializer(serializers.Serializer):
    def get_fields(self):
        return {str(n): serializers.IntegerField(min_value=0) for n in range(1, 6)}


class CsatFiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField(min_value=0)
    answered = serializers.IntegerField(min_value=0)
    response_rate = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    distribution = DistributionSerializer()


class CsatReportSerializer(RangeFieldsSerializer, CsatFiguresSerializer):
    pass


class SlaFiguresSerializer(serializers.Serializer):
    achieved = serializers.IntegerField(min_value=0)
    breached = serializers.IntegerField(min_value=0)
    pending = serializers.IntegerField(min_value=0)
    achieved_rate = serializers.FloatField(allow_null=True)


class PolicyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SlaTargetSerializer(SlaFiguresSerializer):
    policy = PolicyRefSerializer()
    metric = serializers.ChoiceField(choices=["first_response", "resolution"])
    target_seconds = serializers.IntegerField(min_value=0)


class SlaReportSerializer(RangeFieldsSerializer, SlaFiguresSerializer):
    policies = SlaTargetSerializer(many=True)


class AgentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField()
    role = serializers.CharField()


class AgentFiguresSerializer(TimingSerializer):
    agent = AgentRefSerializer()
    handled = serializers.IntegerField(min_value=0)
    csat = CsatFiguresSerializer()


class AgentReportSerializer(RangeFieldsSerializer):
    agents = AgentFiguresSerializer(many=True)


class ConsentFiguresSerializer(serializers.Serializer):
    grants = serializers.IntegerField(min_value=0)
    revokes = serializers.IntegerField(min_value=0)
    net = serializers.IntegerField()


class ConsentReportSerializer(RangeFieldsSerializer, ConsentFiguresSerializer):
    by_channel = serializers.DictField(child=ConsentFiguresSerializer())
    by_source = serializers.DictField(child=ConsentFiguresSerializer())


class CampaignRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()


class FunnelStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField(min_value=0)
    share = serializers.IntegerField(allow_null=True, help_text="Percent of the step before (none for the first).")


class CampaignFunnelSerializer(serializers.Serializer):
    campaign = CampaignRefSerializer()
    audience = serializers.IntegerField(min_value=0)
    reachable = serializers.IntegerField(min_value=0)
    excluded = serializers.DictField(child=serializers.IntegerField(min_value=0))
    failed = serializers.DictField(child=serializers.IntegerField(min_value=0))
    sent = serializers.IntegerField(min_value=0)
    delivered = serializers.IntegerField(min_value=0)
    read = serializers.IntegerField(min_value=0)
    replied = serializers.IntegerField(min_value=0)
    opted_out = serializers.IntegerField(min_value=0)
    steps = FunnelStepSerializer(many=True)
