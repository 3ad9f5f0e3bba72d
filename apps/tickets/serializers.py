"""API input and output shapes for tickets and their settings."""

from __future__ import annotations

from rest_framework import serializers

from apps.conversations.models import ChannelKind
from apps.core.api.fields import MemberField, MerchantPrimaryKeyField
from apps.core.api.serializers import ChoiceTextField, InputSerializer, ModelInputSerializer, ShapedJSONField
from apps.tickets.models import (
    BusinessHours,
    SlaPolicy,
    Team,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketPriority,
    TicketStatus,
    validate_holidays,
    validate_periods,
)
from apps.tickets.services.config import POLICY_FIELDS


class CsatSerializer(serializers.Serializer):
    rating = serializers.IntegerField(source="csat_rating", allow_null=True)
    comment = serializers.CharField(source="csat_comment")
    answered_at = serializers.DateTimeField(source="csat_answered_at", allow_null=True)
    sent_at = serializers.DateTimeField(source="csat_sent_at", allow_null=True)
    sent_via = serializers.CharField(source="csat_sent_via")


class TicketOutputSerializer(serializers.ModelSerializer):
    conversation = serializers.IntegerField(source="conversation_id", read_only=True, allow_null=True)
    contact = serializers.IntegerField(source="contact_id", allow_null=True)
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)
    team = serializers.IntegerField(source="team_id", allow_null=True)
    sla_policy = serializers.IntegerField(source="sla_policy_id", allow_null=True)
    sla_paused = serializers.BooleanField(source="is_paused")
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    csat = CsatSerializer(source="*")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "description",
            "status",
            "priority",
            "contact",
            "conversation",
            "assignee",
            "team",
            "tags",
            "due_at",
            "sla_policy",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
            "first_response_breached",
            "next_response_breached",
            "resolution_breached",
            "sla_paused",
            "first_response_at",
            "csat",
            "merged_into",
            "created_at",
            "updated_at",
            "solved_at",
            "closed_at",
        ]
        read_only_fields = fields


class TicketCreateSerializer(InputSerializer):
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(
        choices=[TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD],
        default=TicketStatus.NEW,
    )
    priority = serializers.ChoiceField(choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.contacts.models import Contact
        from apps.conversations.models import Conversation

        self.fields["contact"] = MerchantPrimaryKeyField(
            queryset=Contact.objects, required=False, allow_null=True, default=None
        )
        self.fields["conversation"] = MerchantPrimaryKeyField(
            queryset=Conversation.objects,
            required=False,
            allow_null=True,
            default=None,
            help_text="Link this conversation; without a subject/description its transcript is copied.",
        )
        self.fields["assignee"] = MemberField(required=False, allow_null=True, default=None)
        self.fields["team"] = MerchantPrimaryKeyField(
            queryset=Team.objects, required=False, allow_null=True, default=None
        )

    def validate(self, attrs):
        if not attrs.get("subject", "").strip() and attrs.get("conversation") is None:
            raise serializers.ValidationError({"subject": ["Give the ticket a subject."]})
        return attrs


class TicketUpdateSerializer(InputSerializer):
    subject = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=TicketPriority.choices, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.contacts.models import Contact

        self.fields["contact"] = MerchantPrimaryKeyField(queryset=Contact.objects, required=False, allow_null=True)
        self.fields["assignee"] = MemberField(required=False, allow_null=True)
        self.fields["team"] = MerchantPrimaryKeyField(queryset=Team.objects, required=False, allow_null=True)


class MergeSerializer(InputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"] = MerchantPrimaryKeyField(queryset=Ticket.objects)


class LinkSerializer(InputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.conversations.models import Conversation

        self.fields["conversation"] = MerchantPrimaryKeyField(queryset=Conversation.objects)


class MacroApplySerializer(InputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.tickets.models import Macro

        self.fields["macro"] = MerchantPrimaryKeyField(queryset=Macro.objects)


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    message = serializers.IntegerField(source="message_id", read_only=True, allow_null=True)
    conversation = serializers.IntegerField(source="conversation_id", read_only=True, allow_null=True)
    public = serializers.BooleanField(source="is_public", read_only=True)

    class Meta:
        model = TicketComment
        fields = ["id", "public", "body", "author", "conversation", "message", "created_at"]
        read_only_fields = fields

    def get_author(self, comment) -> dict:
        if comment.author_id:
            return {"id": comment.author_id, "email": comment.author.email, "label": comment.author.email}
        return {"id": None, "email": None, "label": comment.author_label}


class CommentInputSerializer(InputSerializer):
    body = serializers.CharField(max_length=10_000)
    public = serializers.BooleanField(default=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from apps.conversations.models import Conversation

        self.fields["conversation"] = MerchantPrimaryKeyField(
            queryset=Conversation.objects,
            required=False,
            allow_null=True,
            default=None,
            help_text="For public replies: which linked conversation to send on (default: the first linked).",
        )


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    old = serializers.JSONField(source="old_value")
    new = serializers.JSONField(source="new_value")

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "field", "old", "new", "data", "actor", "created_at"]
        read_only_fields = fields

    def get_actor(self, event) -> dict:
        if event.actor_id:
            return {"id": event.actor_id, "label": event.actor.email}
        return {"id": None, "label": event.actor_label or "System"}


HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}


class MemberIdsField(serializers.ListField):
    """Written as a list of user ids; read from the team's members (prefetched by the selector)."""

    def to_representation(self, members) -> list[int]:
        return sorted(u.pk for u in members.all())


class TeamSerializer(ModelInputSerializer):
    members = MemberIdsField(child=serializers.IntegerField(), required=False, help_text="user ids of its agents")

    class Meta:
        model = Team
        fields = ["id", "name", "description", "members", "created_at"]
        read_only_fields = ["id", "created_at"]


PERIOD_SHAPE = {
    "type": "array",
    "description": "working periods, several a day allowed",
    "items": {
        "type": "object",
        "properties": {
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 = Monday"},
            "start": HHMM,
            "end": HHMM,
        },
        "required": ["weekday", "start", "end"],
        "additionalProperties": False,
    },
}


class BusinessHoursSerializer(ModelInputSerializer):
    # Declared for their documented shape; the model's validators still check them here.
    periods = ShapedJSONField(shape=PERIOD_SHAPE, validators=[validate_periods])
    holidays = ShapedJSONField(
        shape={"type": "array", "items": {"type": "string", "format": "date"}},
        required=False,
        validators=[validate_holidays],
    )

    class Meta:
        model = BusinessHours
        fields = ["id", "name", "timezone", "periods", "holidays", "is_default", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"timezone": {"required": False}}

    def get_validators(self):
        return []  # uniqueness and the one-default rule are handled by the service


class SlaPolicySerializer(ModelInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_hours"] = MerchantPrimaryKeyField(
            queryset=BusinessHours.objects, required=False, allow_null=True
        )
        self.fields["escalate_team"] = MerchantPrimaryKeyField(queryset=Team.objects, required=False, allow_null=True)
        self.fields["channel_kind"] = ChoiceTextField(
            choices=ChannelKind.values,
            allow_blank=True,
            required=False,
            help_text="empty: any channel",
        )

    class Meta:
        model = SlaPolicy
        fields = ["id", *POLICY_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_validators(self):
        return []
