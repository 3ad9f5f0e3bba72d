"""Channels, conversations, messages and the live event log.

Field names here are frozen once other apps depend on them: add fields through new migrations only.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.crypto import EncryptedTextField
from apps.core.tenancy import MerchantOwned


def _public_key() -> str:
    return secrets.token_urlsafe(24)


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    """A generated storage name: the sender's file name (kept in `filename`) never reaches the disk or a URL."""
    return timezone.now().strftime(f"conversations/%Y/%m/{uuid.uuid4().hex}")


class ChannelKind(models.TextChoices):
    WEBCHAT = "webchat", "Web chat"
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"


class Channel(MerchantOwned):
    """One way customers reach a merchant. Secrets are write-only: serializers never return them."""

    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    phone_number_id = models.CharField(max_length=64, blank=True)  # WhatsApp Cloud API sender
    page_id = models.CharField(max_length=64, blank=True)  # Messenger page
    # Encrypted at rest (apps/core/crypto.py); the serializers bound their length on input.
    access_token = EncryptedTextField(blank=True)
    app_secret = EncryptedTextField(blank=True)
    verify_token = EncryptedTextField(blank=True)
    public_key = models.CharField(max_length=64, unique=True, default=_public_key)  # widget snippet id
    allowed_origins = models.JSONField(default=list, blank=True)  # widget: ["https://shop.example"]
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SECRET_FIELDS = ("access_token", "app_secret", "verify_token")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "phone_number_id"], condition=~Q(phone_number_id=""), name="channel_unique_phone_id"
            ),
            models.UniqueConstraint(
                fields=["kind", "page_id"], condition=~Q(page_id=""), name="channel_unique_page_id"
            ),
        ]
        indexes = [models.Index(fields=["merchant", "kind"], name="channel_merchant_kind")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def __repr__(self) -> str:  # never leak secrets through reprs in logs or tracebacks
        return f"<Channel {self.pk} {self.kind} merchant={self.merchant_id}>"

    @property
    def is_sandbox(self) -> bool:
        """Flagged to talk to the built-in fake Graph API (apps/sandbox): exactly `True`, never a truthy
        string a form or an import may have left there."""
        return (self.settings or {}).get("sandbox") is True

    @property
    def webhook_path(self) -> str | None:
        if self.kind == ChannelKind.WEBCHAT or self.pk is None:
            return None
        return f"/webhooks/{self.kind}/{self.pk}/"


class ConversationStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class ConversationPriority(models.TextChoices):
    NONE = "none", "None"
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Conversation(MerchantOwned):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="conversations")
    # The widget visitor (browser) that opened a web chat: one contact may chat from several browsers, and each
    # browser sees only its own threads (DR-66). Blank on WhatsApp and Messenger.
    visitor_id = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=20, choices=ConversationStatus.choices, default=ConversationStatus.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    labels = models.JSONField(default=list, blank=True)
    priority = models.CharField(max_length=10, choices=ConversationPriority.choices, default=ConversationPriority.NONE)
    last_message_preview = models.CharField(max_length=200, blank=True)
    # Never null: the inbox keyset orders on it, and NULLs would break the (value, id) cursor.
    last_message_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(null=True, blank=True)  # starts the 24-hour service window
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    same_merchant_fields = ("channel", "contact")

    class Meta:
        constraints = [
            # One unresolved conversation per (channel, contact, visitor): inbound races cannot fork a thread.
            models.UniqueConstraint(
                fields=["channel", "contact", "visitor_id"],
                condition=~Q(status="resolved"),
                name="conversation_one_unresolved",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "-last_message_at", "-id"], name="conv_inbox_status"),
            models.Index(fields=["merchant", "-last_message_at", "-id"], name="conv_inbox_all"),
            models.Index(
                fields=["merchant", "assignee", "status", "-last_message_at", "-id"], name="conv_inbox_assignee"
            ),
            # "Mine" / "Unassigned" under "Any status", and the channel filter: each an ordered range, so a
            # deep keyset page reads the same 50 index entries as the first one.
            models.Index(fields=["merchant", "assignee", "-last_message_at", "-id"], name="conv_inbox_assignee_any"),
            models.Index(
                fields=["merchant", "channel", "status", "-last_message_at", "-id"], name="conv_inbox_channel"
            ),
            models.Index(fields=["channel", "contact", "-id"], name="conv_channel_contact"),
            models.Index(fields=["contact", "-id"], name="conv_contact"),
            models.Index(fields=["status", "snoozed_until"], name="conv_snoozed_until"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} ({self.status})"


class MessageDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class AuthorKind(models.TextChoices):
    CONTACT = "contact", "Contact"
    AGENT = "agent", "Agent"
    BOT = "bot", "Bot"
    SYSTEM = "system", "System"


class MessageKind(models.TextChoices):
    TEXT = "text", "Text"
    MEDIA = "media", "Media"
    TEMPLATE = "template", "Template"
    NOTE = "note", "Internal note"


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


class Message(MerchantOwned):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # Denormalised from the conversation so provider ids are unique per channel with a plain constraint.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=10, choices=MessageDirection.choices)
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.TEXT)
    body = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    template_name = models.CharField(max_length=512, blank=True)
    template_language = models.CharField(max_length=20, blank=True)
    template_params = models.JSONField(default=dict, blank=True)
    messaging_type = models.CharField(max_length=32, blank=True)  # Messenger: RESPONSE | MESSAGE_TAG
    tag = models.CharField(max_length=32, blank=True)  # Messenger: HUMAN_AGENT
    automated = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    redacted_at = models.DateTimeField(null=True, blank=True)  # body blanked by retention or erasure

    same_merchant_fields = ("conversation", "channel")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_unique_provider_id",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "-id"], name="message_conversation_id"),
            models.Index(fields=["merchant", "created_at"], name="message_merchant_created"),
            models.Index(fields=["provider_message_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} ({self.direction}/{self.status})"


class AttachmentStatus(models.TextChoices):
    PENDING = "pending", "Pending download"
    STORED = "stored", "Stored"
    FAILED = "failed", "Download failed"


class Attachment(MerchantOwned):
    """A media file of a message; inbound provider media is fetched later by a task."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="files")
    provider_media_id = models.CharField(max_length=255, blank=True)  # WhatsApp: fetched via {graph}/{id}
    source_url = models.TextField(blank=True)  # Messenger: a CDN URL fetched as it is
    media_type = models.CharField(max_length=20, blank=True)  # image | audio | video | document | sticker
    mime_type = models.CharField(max_length=255, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=128, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.FileField(upload_to=attachment_upload_to, max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=AttachmentStatus.choices, default=AttachmentStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("message",)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["message"], name="attachment_message")]


class CannedResponse(MerchantOwned):
    shortcut = models.SlugField(max_length=50)
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut"]
        constraints = [models.UniqueConstraint(fields=["merchant", "shortcut"], name="canned_unique_shortcut")]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class LiveEventSeq(models.Model):
    """The last seq handed out per merchant; bumped with a row lock inside the writing transaction."""

    merchant = models.OneToOneField("merchants.Merchant", on_delete=models.CASCADE, primary_key=True, related_name="+")
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"seq {self.value} of merchant {self.merchant_id}"


class LiveEvent(MerchantOwned):
    """Every broadcast, stored first: a reconnecting client asks for what came after its last seq."""

    seq = models.BigIntegerField()
    kind = models.CharField(max_length=50)
    payload = models.JSONField(default=dict)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_constraint=False
    )
    # Empty for chat (the merchant's and the conversation's groups); otherwise the one group the event is
    # for (campaign progress: "campaign-<id>"), so the inbox never streams another screen's events.
    topic = models.CharField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["merchant", "seq"], name="live_event_unique_seq")]
        indexes = [
            models.Index(fields=["merchant", "conversation", "seq"], name="live_event_conversation"),
            models.Index(fields=["merchant", "topic", "seq"], name="live_event_topic"),
            models.Index(fields=["created_at"], name="live_event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq}"


class PresenceStatus(models.TextChoices):
    ONLINE = "online", "Online"
    AWAY = "away", "Away"
    OFFLINE = "offline", "Offline"


class AgentPresence(MerchantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=PresenceStatus.choices, default=PresenceStatus.OFFLINE)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_assigned_at = models.DateTimeField(null=True, blank=True)  # round-robin picks the longest idle

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="presence_unique_user")]
        indexes = [models.Index(fields=["merchant", "status", "last_assigned_at"], name="presence_round_robin")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored"


class WebhookEvent(MerchantOwned):
    """A verified provider POST, stored raw before any processing (replayable, auditable)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_events")
    provider = models.CharField(max_length=20)  # whatsapp | messenger
    body = models.TextField()  # the exact bytes Meta signed, decoded as UTF-8
    status = models.CharField(max_length=10, choices=WebhookEventStatus.choices, default=WebhookEventStatus.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    same_merchant_fields = ("channel",)

    class Meta:
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_event_status"),
            models.Index(fields=["channel", "-id"], name="webhook_event_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} event {self.pk} ({self.status})"


class LifecycleKind(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"


class ConversationLifecycleEvent(MerchantOwned):
    """A resolution or a reopening, appended as it happens: `resolved_at` is cleared on reopen, and reports
    count each open period (apps/reports/metrics.py) from these rows, never from the conversation's state."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="lifecycle_events")
    kind = models.CharField(max_length=10, choices=LifecycleKind.choices)
    # The assignee at that moment: an agent's resolutions stay theirs after the conversation is reassigned.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    same_merchant_fields = ("conversation",)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["merchant", "kind", "at"], name="conv_lifecycle_report"),
            models.Index(fields=["conversation", "kind", "at"], name="conv_lifecycle_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} conversation {self.conversation_id} at {self.at}"
