"""Templates, segments, campaigns and the delivery ledger (one row per campaign and contact)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from apps.campaigns.placeholders import template_variables
from apps.conversations.models import ChannelKind
from apps.core.tenancy import MerchantOwned

STOP_PROMOTIONS = "STOP_PROMOTIONS"


class TemplateCategory(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    UTILITY = "utility", "Utility"


class TemplateStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PAUSED = "paused", "Paused"
    DISABLED = "disabled", "Disabled"


class MessageTemplate(MerchantOwned):
    name = models.CharField(max_length=512)
    channel_kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.WHATSAPP)
    category = models.CharField(max_length=20, choices=TemplateCategory.choices, default=TemplateCategory.MARKETING)
    language = models.CharField(max_length=20)
    body = models.TextField()
    header_media_url = models.URLField(max_length=1000, blank=True)
    header_media_type = models.CharField(max_length=20, blank=True)  # image | video | document
    # [{"text": "Stop promotions", "payload": "STOP_PROMOTIONS"}]: quick-reply buttons in order.
    buttons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=TemplateStatus.choices, default=TemplateStatus.PENDING)
    status_reason = models.CharField(max_length=255, blank=True)
    status_event = models.CharField(max_length=40, blank=True)  # Meta's raw event, e.g. FLAGGED
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "channel_kind", "name", "language"], name="template_unique_name_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def variables(self) -> list[str]:
        return template_variables(self.body)

    @property
    def is_sendable(self) -> bool:
        return self.status == TemplateStatus.APPROVED


class Segment(MerchantOwned):
    name = models.CharField(max_length=200)
    rules = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Campaign(MerchantOwned):
    name = models.CharField(max_length=200)
    channel = models.ForeignKey("conversations.Channel", on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="campaigns")
    # Null only on a wizard draft that has not reached its audience step; launch refuses it.
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns", null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)  # template variable -> contact field
    fallbacks = models.JSONField(default=dict, blank=True)  # template variable -> text when the field is empty
    scheduled_at = models.DateTimeField(null=True, blank=True)  # null = on launch
    throttle_per_second = models.PositiveIntegerField(null=True, blank=True)  # null = provider's limit
    quiet_hours = models.JSONField(null=True, blank=True)  # {"start": "21:00", "end": "09:00"}
    frequency_cap = models.JSONField(null=True, blank=True)  # {"max": 2, "period": "day" | "week"}
    status = models.CharField(max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    audience_size = models.PositiveIntegerField(null=True, blank=True)
    ledger_built_at = models.DateTimeField(null=True, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Refreshed by every batch: the tick restarts the senders of a running campaign whose heartbeat is stale.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    same_merchant_fields = ("channel", "template", "segment")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="campaign_due"),
            models.Index(fields=["merchant", "-id"], name="campaign_merchant_id_desc"),
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "Claimed"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    UNKNOWN = "unknown", "Unknown"


# Attempts the frequency cap and the progress counts treat as "reached the provider, or may have".
COUNTED = (
    DeliveryState.CLAIMED,
    DeliveryState.SENT,
    DeliveryState.DELIVERED,
    DeliveryState.READ,
    DeliveryState.UNKNOWN,
)


class Delivery(MerchantOwned):
    """One recipient of one campaign. Columns have database defaults so the ledger is built set-based."""

    # No single-column FK indexes: (campaign, contact) and (contact, attempted_at) lead with them, every
    # read by merchant also names the campaign or the pk, and every index costs each of the non-HOT updates
    # a delivery goes through (deleting a merchant scans the ledger once; that is rare and offline).
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, db_default=DeliveryState.PENDING)
    reason = models.CharField(max_length=32, db_default="", blank=True)  # why skipped
    error_code = models.CharField(max_length=32, db_default="", blank=True)
    error_message = models.CharField(max_length=500, db_default="", blank=True)
    provider_message_id = models.CharField(max_length=255, db_default="", blank=True)
    claim_token = models.CharField(max_length=32, db_default="", blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) just before the provider call: an expired claim without it was never sent.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Claimed in (not_before, id) order; moved forward by quiet hours and throughput back-off.
    not_before = models.DateTimeField(db_default=Now())
    attempts = models.PositiveSmallIntegerField(db_default=0)
    attempted_at = models.DateTimeField(null=True, blank=True)  # counts toward frequency caps
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    same_merchant_fields = ("campaign", "contact")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"], name="delivery_unique_recipient")]
        indexes = [
            models.Index(
                fields=["campaign", "not_before", "id"],
                condition=Q(state="pending"),
                name="delivery_claimable",
            ),
            # Only the rare outcomes: lists filtered by them stay short, and the hot path (pending ->
            # claimed -> sent) never writes this index. Common states are read through (campaign, contact).
            models.Index(
                fields=["campaign", "state"],
                condition=Q(state__in=["failed", "skipped", "unknown"]),
                name="delivery_campaign_outcome",
            ),
            models.Index(fields=["lease_expires_at"], condition=Q(state="claimed"), name="delivery_lease"),
            models.Index(fields=["contact", "attempted_at"], name="delivery_contact_attempted"),
            models.Index(
                fields=["provider_message_id"], condition=~Q(provider_message_id=""), name="delivery_provider_id"
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.state})"
