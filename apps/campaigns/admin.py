from django.contrib import admin

from apps.campaigns.models import Campaign, Delivery, MessageTemplate, Segment
from apps.core.admin import VIEW, MerchantScopedAdmin


@admin.register(MessageTemplate)
class MessageTemplateAdmin(MerchantScopedAdmin):
    list_display = ("name", "language", "channel_kind", "category", "status", "merchant")
    list_filter = ("status", "category", "channel_kind")
    list_select_related = ("merchant",)
    search_fields = ("name", "body")


@admin.register(Segment)
class SegmentAdmin(MerchantScopedAdmin):
    list_display = ("name", "merchant", "updated_at")
    list_select_related = ("merchant",)
    search_fields = ("name",)


@admin.register(Campaign)
class CampaignAdmin(MerchantScopedAdmin):
    list_display = ("name", "status", "merchant", "template", "scheduled_at", "audience_size", "heartbeat_at")
    list_filter = ("status",)
    list_select_related = ("merchant", "template")
    search_fields = ("name",)
    raw_id_fields = ("channel", "template", "segment", "created_by")


@admin.register(Delivery)
class DeliveryAdmin(MerchantScopedAdmin):
    """Read-only: the ledger changes through the pipeline and status webhooks, never by hand."""

    merchant_permissions = VIEW
    list_display = ("id", "campaign", "contact", "state", "reason", "error_code", "sent_at")
    list_filter = ("state",)
    list_select_related = ("campaign", "contact")
    raw_id_fields = ("campaign", "contact")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
