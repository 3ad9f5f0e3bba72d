"""Django admin: contacts editable through their services' rules; the consent ledger read-only."""

from django.contrib import admin

from apps.contacts.models import (
    AttributeDefinition,
    ConsentEvent,
    ConsentKeyword,
    ConsentState,
    Contact,
    ContactIdentity,
    ContactImport,
    Suppression,
)
from apps.core.admin import MerchantScopedAdmin, MerchantScopedTabularInline, ReadOnlyAdmin


class IdentityInline(MerchantScopedTabularInline):
    model = ContactIdentity
    extra = 0
    fields = ["kind", "external_id", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Contact)
class ContactAdmin(MerchantScopedAdmin):
    list_display = ["id", "name", "phone", "email", "merchant", "last_seen_at", "erased_at"]
    list_filter = ["merchant", "erased_at"]
    search_fields = ["name", "phone", "email"]
    list_select_related = ["merchant"]
    readonly_fields = ["phone_timezone", "first_seen_at", "last_seen_at", "erased_at", "merged_into", "created_at",
                       "updated_at"]  # fmt: skip
    raw_id_fields = ["merchant"]
    inlines = [IdentityInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # erasure goes through the portal/API (suppression, hooks, redaction)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "contact", "channel", "purpose", "action", "resulting_status", "source", "occurred_at",
                    "recorded_at", "merchant"]  # fmt: skip
    list_filter = ["channel", "purpose", "action", "source", "merchant"]
    search_fields = ["contact__phone", "contact__email", "evidence_message_id"]
    list_select_related = ["contact", "merchant"]
    date_hierarchy = "occurred_at"


@admin.register(ConsentState)
class ConsentStateAdmin(ReadOnlyAdmin):
    list_display = ["contact", "channel", "purpose", "status", "since", "merchant"]
    list_filter = ["channel", "purpose", "status", "merchant"]
    list_select_related = ["contact", "merchant"]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ["kind", "value_hash", "created_at", "merchant"]
    list_filter = ["kind", "merchant"]
    list_select_related = ["merchant"]


@admin.register(ContactImport)
class ContactImportAdmin(ReadOnlyAdmin):
    list_display = ["id", "filename", "status", "created_by", "created_at", "completed_at", "merchant"]
    list_filter = ["status", "merchant"]
    list_select_related = ["created_by", "merchant"]
    exclude = ["csv_text"]


@admin.register(ConsentKeyword)
class ConsentKeywordAdmin(MerchantScopedAdmin):
    list_display = ["word", "kind", "language", "merchant"]
    list_filter = ["kind", "language", "merchant"]
    search_fields = ["word"]
    list_select_related = ["merchant"]

    def save_model(self, request, obj, form, change):
        from apps.contacts.keywords import keyword_normalize

        obj.word = keyword_normalize(obj.word)  # stored as the engine compares it
        super().save_model(request, obj, form, change)


@admin.register(AttributeDefinition)
class AttributeDefinitionAdmin(MerchantScopedAdmin):
    list_display = ["key", "label", "type", "merchant"]
    list_filter = ["type", "merchant"]
    list_select_related = ["merchant"]


@admin.register(ContactIdentity)
class ContactIdentityAdmin(MerchantScopedAdmin):
    list_display = ["kind", "external_id", "contact", "merchant", "created_at"]
    list_filter = ["kind", "merchant"]
    search_fields = ["external_id", "contact__name", "contact__phone"]
    list_select_related = ["contact", "merchant"]
    raw_id_fields = ["contact"]
