from rest_framework import serializers

from apps.core.api.serializers import InputSerializer, ModelInputSerializer, WholeBodySerializer
from apps.core.roles import Role
from apps.merchants.models import Membership, Merchant, validate_locale, validate_timezone


class MerchantSerializer(ModelInputSerializer):
    timezone = serializers.CharField(validators=[validate_timezone], required=False)
    locale = serializers.CharField(validators=[validate_locale], required=False)

    class Meta:
        model = Merchant
        fields = ["id", "name", "slug", "timezone", "locale", "created_at"]
        read_only_fields = ["id", "slug", "created_at"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]
        read_only_fields = ["id", "email", "name", "created_at"]


class MemberRoleSerializer(WholeBodySerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationInputSerializer(InputSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.AGENT, help_text="agent when left out")


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()
