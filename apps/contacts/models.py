from django.conf import settings
from django.db import models

from apps.core.tenancy import MerchantOwned, MerchantQuerySet


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a consent ledger row."""


class ConsentChannel(models.TextChoices):
    """Channels consent is given for (a superset of the conversation channel kinds)."""

    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"
    WEBCHAT = "webchat", "Web chat"


class Purpose(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    UTILITY = "utility", "Utility"


class ConsentAction(models.TextChoices):
    GRANT = "grant", "Grant"
    REVOKE = "revoke", "Revoke"
    CONFIRM = "confirm", "Confirm"  # double opt-in: turns a pending grant into granted


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    WIDGET = "widget", "Widget pre-chat form"
    KEYWORD = "keyword", "Keyword message"
    PROVIDER_PREFERENCE = "provider_preference", "Provider preference webhook"
    PROVIDER_ERROR = "provider_error", "Provider error code"
    IMPORT = "import", "Import"
    API = "api", "API"
    AGENT = "agent", "Agent"


class ConsentStatus(models.TextChoices):
    NONE = "none", "No consent"
    PENDING = "pending", "Pending confirmation"
    GRANTED = "granted", "Granted"
    REVOKED = "revoked", "Revoked"


class IdentityKind(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp id"
    # Meta's business-scoped user id (2026): the only id of a WhatsApp user who hides their number.
    WHATSAPP_USER = "whatsapp_user", "WhatsApp business-scoped user id"
    MESSENGER = "messenger", "Messenger PSID"
    WEBCHAT = "webchat", "Web-chat visitor"


class Contact(MerchantOwned):
    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True)  # E.164 or empty
    email = models.EmailField(blank=True)
    timezone = models.CharField(max_length=64, blank=True)  # explicit; see services.contact_timezone
    # Derived from the phone's country when it has a single zone (kept in sync by the services).
    phone_timezone = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    tags = models.JSONField(default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "phone"], condition=~models.Q(phone=""), name="contact_unique_phone"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="contact_merchant_id_desc"),
            models.Index(fields=["merchant", "email"], name="contact_merchant_email"),
        ]

    @property
    def display_name(self) -> str:
        # Web-chat visitors often leave no name, phone or e-mail: the id still tells two of them apart.
        return self.name or self.phone or self.email or f"Visitor #{self.pk}"

    def __str__(self) -> str:
        return self.display_name


class ContactIdentity(MerchantOwned):
    """How a contact is reached on a channel: a WhatsApp wa_id, a Messenger PSID, a widget visitor id."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    external_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("contact",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "kind", "external_id"], name="identity_unique_per_channel")
        ]
        indexes = [models.Index(fields=["contact", "kind"], name="identity_contact_kind")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.external_id}"


class ConsentEventQuerySet(MerchantQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Consent events are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Consent events are append-only: they cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Consent events are append-only: they cannot be updated.")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("Consent events are append-only: they cannot be updated.")

    def _redact_for_erasure(self, *, evidence: dict[int, str] | None = None) -> int:
        """The one permitted change: blank the person's IP, user agent and evidence URL on erasure, and
        set redacted evidence ids (`{event_id: id with identifiers tokenized}`).

        The database trigger allows exactly this (and only for erased contacts); everything
        else in the row, the proof of what happened, stays.
        """
        redacted_id = models.F("evidence_message_id")
        if evidence:
            whens = [models.When(pk=pk, then=models.Value(value)) for pk, value in evidence.items()]
            redacted_id = models.Case(*whens, default=models.F("evidence_message_id"))
        return super().update(ip_address=None, user_agent="", evidence_url="", evidence_message_id=redacted_id)


ConsentEventManager = models.Manager.from_queryset(ConsentEventQuerySet)


class ConsentEvent(MerchantOwned):
    """Append-only evidence of one consent change. Never updated, never deleted."""

    objects = ConsentEventManager()

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="consent_events")
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    action = models.CharField(max_length=20, choices=ConsentAction.choices)
    source = models.CharField(max_length=32, choices=ConsentSource.choices)
    wording = models.TextField(blank=True)
    evidence_url = models.URLField(max_length=1000, blank=True)
    evidence_message_id = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)  # e.g. "API key abc123", "WhatsApp webhook"
    # Imports only: how the merchant originally collected this consent (the file's source column).
    collected_via = models.CharField(max_length=200, blank=True)
    resulting_status = models.CharField(max_length=20, choices=ConsentStatus.choices)
    occurred_at = models.DateTimeField()  # when the person acted (may precede recording, e.g. imports)
    recorded_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("contact",)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["contact", "channel", "purpose", "id"], name="consent_event_contact"),
            # The contact page's ledger, newest first and keyset-paged on (occurred_at, id).
            models.Index(fields=["contact", "-occurred_at", "-id"], name="consent_event_contact_time"),
            models.Index(fields=["merchant", "id"], name="consent_event_merchant"),
            models.Index(fields=["merchant", "recorded_at"], name="consent_event_recorded"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.channel}/{self.purpose} for contact {self.contact_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise AppendOnlyError("Consent events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Consent events are append-only: they cannot be deleted.")


class ConsentState(MerchantOwned):
    """Current consent per (contact, channel, purpose), derived from the ledger in the same transaction."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_states")
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    status = models.CharField(max_length=20, choices=ConsentStatus.choices)
    since = models.DateTimeField()
    last_event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, related_name="+")

    same_merchant_fields = ("contact",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "channel", "purpose"], name="consent_state_unique")]
        indexes = [
            models.Index(fields=["merchant", "channel", "purpose", "status", "contact"], name="consent_state_audience")
        ]


class Suppression(MerchantOwned):
    """A hashed identifier of an erased contact: blocks marketing until a new consent is given."""

    kind = models.CharField(max_length=20)  # phone (wa_ids too) | email | whatsapp_user | messenger | webchat
    value_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "kind", "value_hash"], name="suppression_unique")]


class KeywordKind(models.TextChoices):
    OPT_OUT = "opt_out", "Opt-out (revokes marketing)"
    OPT_IN = "opt_in", "Opt-in (grants marketing or confirms a pending opt-in)"
    HELP = "help", "Help (answers with the help text)"


class ConsentKeyword(MerchantOwned):
    """A merchant's own keyword, on top of the built-in defaults (see apps.contacts.keywords)."""

    word = models.CharField(max_length=40)  # stored normalized (keywords.keyword_normalize)
    kind = models.CharField(max_length=10, choices=KeywordKind.choices)
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "word"]
        constraints = [models.UniqueConstraint(fields=["merchant", "word"], name="consent_keyword_unique_word")]

    def __str__(self) -> str:
        return f"{self.word} ({self.kind})"


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"


class AttributeDefinition(MerchantOwned):
    """A typed custom attribute a merchant keeps on its contacts (values live in Contact.attributes)."""

    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=AttributeType.choices, default=AttributeType.TEXT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="attribute_definition_unique_key")]

    def __str__(self) -> str:
        return f"{self.label} ({self.type})"


class ContactImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded, waiting for the column mapping"
    FAILED = "failed", "Refused: nothing was imported"
    COMPLETED = "completed", "Imported"


class ContactImport(MerchantOwned):
    """One CSV import: who, when, which file, the mapping and the outcome (the audit trail of imports).

    The file's text is kept only until the import completes, then cleared: the contacts hold the data.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    csv_text = models.TextField(blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=ContactImportStatus.choices, default=ContactImportStatus.UPLOADED)
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.filename or 'API'})"
