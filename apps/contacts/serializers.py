from rest_framework import serializers

from apps.contacts.models import (
    AttributeDefinition,
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    ConsentKeyword,
    ConsentSource,
    Contact,
    ContactIdentity,
    IdentityKind,
    Purpose,
)
from apps.contacts.services import contact_timezone
from apps.core.api.serializers import ChoiceTextField, InputSerializer, ModelInputSerializer


def _identity(contact: Contact, kind: str) -> str | None:
    # Reads the prefetched identities: no query per contact.
    return next((i.external_id for i in contact.identities.all() if i.kind == kind), None)


class ContactSerializer(serializers.ModelSerializer):
    whatsapp_id = serializers.SerializerMethodField()
    whatsapp_user_id = serializers.SerializerMethodField(
        help_text="WhatsApp business-scoped user id (e.g. US.13491208655302741918), learnt from Meta's webhooks"
    )
    messenger_psid = serializers.SerializerMethodField()
    webchat_visitor_ids = serializers.SerializerMethodField()
    effective_timezone = serializers.SerializerMethodField(
        help_text="timezone, else the phone's single zone, else the merchant's"
    )

    class Meta:
        model = Contact
        fields = [
            "id", "name", "phone", "email", "whatsapp_id", "whatsapp_user_id", "messenger_psid", "webchat_visitor_ids",
            "timezone", "effective_timezone", "locale", "tags", "attributes", "first_seen_at", "last_seen_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_whatsapp_id(self, contact) -> str | None:
        return _identity(contact, IdentityKind.WHATSAPP)

    def get_whatsapp_user_id(self, contact) -> str | None:
        return _identity(contact, IdentityKind.WHATSAPP_USER)

    def get_messenger_psid(self, contact) -> str | None:
        return _identity(contact, IdentityKind.MESSENGER)

    def get_webchat_visitor_ids(self, contact) -> list[str]:
        return [i.external_id for i in contact.identities.all() if i.kind == IdentityKind.WEBCHAT]

    def get_effective_timezone(self, contact) -> str:
        return contact_timezone(contact, merchant=self.context.get("merchant"))


class ContactInputSerializer(InputSerializer):
    """Types only; the contacts service validates values and names each bad field."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    whatsapp_id = serializers.CharField(required=False, allow_blank=True, max_length=40)
    messenger_psid = serializers.CharField(required=False, allow_blank=True, max_length=128)
    timezone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    locale = serializers.CharField(required=False, allow_blank=True, max_length=10)
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True, max_length=50), required=False)
    attributes = serializers.DictField(required=False)


class ConsentStateSerializer(serializers.Serializer):
    channel = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)


class ConsentEventSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="occurred_at")
    actor = serializers.SerializerMethodField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id", "contact_id", "channel", "purpose", "action", "resulting_status", "source", "collected_via",
            "wording", "evidence_url", "evidence_message_id", "ip_address", "user_agent", "actor", "actor_label",
            "at", "recorded_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_actor(self, event) -> str | None:
        return event.actor.email if event.actor_id else None


class ConsentsSerializer(serializers.Serializer):
    state = ConsentStateSerializer(many=True)
    events = ConsentEventSerializer(many=True)


class ConsentInputSerializer(InputSerializer):
    """Choices are checked by the service so the error names the field and lists the valid values."""

    channel = ChoiceTextField(choices=ConsentChannel.values)
    purpose = ChoiceTextField(choices=Purpose.values)
    action = ChoiceTextField(choices=ConsentAction.values)
    source = ChoiceTextField(choices=ConsentSource.values)
    wording = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    evidence_url = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    evidence_message_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    ip_address = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=45)
    user_agent = serializers.CharField(required=False, allow_blank=True, max_length=500)
    at = serializers.DateTimeField(required=False, help_text="when the person acted (default: now)")


class MergeInputSerializer(InputSerializer):
    source = serializers.IntegerField(help_text="id of the contact folded into this one")


class ImportInputSerializer(InputSerializer):
    file = serializers.FileField(required=False, help_text="CSV file (multipart)")
    csv = serializers.CharField(required=False, trim_whitespace=False, help_text="CSV text (JSON body)")
    mapping = serializers.JSONField(help_text='{"<csv column>": "<field>"}; fields: see README, CSV import')
    defaults = serializers.JSONField(required=False, help_text='e.g. {"consent_channel": "whatsapp"}')


class ImportReportSerializer(serializers.Serializer):
    import_id = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    ok = serializers.BooleanField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    consents = serializers.IntegerField()
    suppressed_matches = serializers.IntegerField()
    errors = serializers.ListField()
    preview = serializers.ListField()


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactIdentity
        fields = ["kind", "external_id", "created_at"]


class AttributeDefinitionSerializer(ModelInputSerializer):
    class Meta:
        model = AttributeDefinition
        fields = ["id", "key", "label", "type"]
        # The model's default type is for rows made elsewhere; through the API the caller says which.
        extra_kwargs = {"key": {"validators": []}, "type": {"required": True}}


class ConsentKeywordSerializer(ModelInputSerializer):
    class Meta:
        model = ConsentKeyword
        fields = ["id", "word", "kind", "language"]
        extra_kwargs = {"word": {"validators": []}, "language": {"required": False}}
