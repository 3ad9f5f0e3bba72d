"""Read-only: the sandbox's messages are a record of what the fake Graph API carried."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.sandbox.models import SandboxMessage


@admin.register(SandboxMessage)
class SandboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "merchant", "channel", "direction", "kind", "address", "status", "created_at")
    list_filter = ("direction", "kind", "status")
    list_select_related = ("merchant", "channel")
    search_fields = ("address", "provider_message_id")
