"""The reports' output shapes, for the OpenAPI schema (the selectors build the dicts; these describe them)."""

from rest_framework import serializers

from apps.conversations.models import ChannelKind


class ReportRangeFieldsSerializer(serializers.Serializer):
    # `from` is a Python keyword: declared below through the fields dict.
    to = serializers.DateField()
    timezone = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.DateField(), **fields}


class ReportStatsSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)
    median = serializers.IntegerField(allow_null=True)
    p90 = serializers.IntegerField(allow_null=True)
    mean = serializers.IntegerField(allow_null=True)


class ReportBusinessTimingSerializer(serializers.Serializer):
    first_response_seconds = ReportStatsSerializer()
    resolution_seconds = ReportStatsSerializer()


class ReportTimingSerializer(ReportBusinessTimingSerializer):
    business_hours = ReportBusinessTimingSerializer()


class ReportVolumeSerializer(serializers.Serializer):
    started = serializers.IntegerField(min_value=0)
    resolved = serializers.IntegerField(min_value=0)
    reopened = serializers.IntegerField(min_value=0)


class ReportChannelFiguresSerializer(ReportVolumeSerializer, ReportTimingSerializer):
    pass


class ReportDayFiguresSerializer(ReportVolumeSerializer):
    date = serializers.DateField()


class ReportByChannelSerializer(serializers.Serializer):
    def get_fields(self):
        return {kind: ReportChannelFiguresSerializer() for kind in ChannelKind.values}


class ConversationReportSerializer(ReportRangeFieldsSerializer, ReportVolumeSerializer, ReportTimingSerializer):
    by_channel = ReportByChannelSerializer()
    by_day = ReportDayFiguresSerializer(many=True)


class ReportDistributionSerializer(serializers.Serializer):
    def get_fields(self):
        return {str(n): serializers.IntegerField(min_value=0) for n in range(1, 6)}


class ReportCsatFiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField(min_value=0)
    answered = serializers.IntegerField(min_value=0)
    response_rate = serializers.FloatField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    distribution = ReportDistributionSerializer()


class CsatReportSerializer(ReportRangeFieldsSerializer, ReportCsatFiguresSerializer):
    pass


class ReportSlaFiguresSerializer(serializers.Serializer):
    achieved = serializers.IntegerField(min_value=0)
    breached = serializers.IntegerField(min_value=0)
    pending = serializers.IntegerField(min_value=0)
    achieved_rate = serializers.FloatField(allow_null=True)


class ReportPolicyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReportSlaTargetSerializer(ReportSlaFiguresSerializer):
    policy = ReportPolicyRefSerializer()
    metric = serializers.ChoiceField(choices=["first_response", "resolution"])
    target_seconds = serializers.IntegerField(min_value=0)


class SlaReportSerializer(ReportRangeFieldsSerializer, ReportSlaFiguresSerializer):
    policies = ReportSlaTargetSerializer(many=True)


class ReportAgentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField()
    role = serializers.CharField()


class ReportAgentFiguresSerializer(ReportTimingSerializer):
    agent = ReportAgentRefSerializer()
    handled = serializers.IntegerField(min_value=0)
    csat = ReportCsatFiguresSerializer()


class AgentReportSerializer(ReportRangeFieldsSerializer):
    agents = ReportAgentFiguresSerializer(many=True)


class ReportConsentFiguresSerializer(serializers.Serializer):
    grants = serializers.IntegerField(min_value=0)
    revokes = serializers.IntegerField(min_value=0)
    net = serializers.IntegerField()


class ConsentReportSerializer(ReportRangeFieldsSerializer, ReportConsentFiguresSerializer):
    by_channel = serializers.DictField(child=ReportConsentFiguresSerializer())
    by_source = serializers.DictField(child=ReportConsentFiguresSerializer())


class ReportCampaignRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()


class ReportFunnelStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField(min_value=0)
    share = serializers.IntegerField(allow_null=True, help_text="Percent of the step before (none for the first).")


class ReportCampaignFunnelSerializer(serializers.Serializer):
    campaign = ReportCampaignRefSerializer()
    audience = serializers.IntegerField(min_value=0)
    reachable = serializers.IntegerField(min_value=0)
    excluded = serializers.DictField(child=serializers.IntegerField(min_value=0))
    failed = serializers.DictField(child=serializers.IntegerField(min_value=0))
    sent = serializers.IntegerField(min_value=0)
    delivered = serializers.IntegerField(min_value=0)
    read = serializers.IntegerField(min_value=0)
    replied = serializers.IntegerField(min_value=0)
    opted_out = serializers.IntegerField(min_value=0)
    steps = ReportFunnelStepSerializer(many=True)
