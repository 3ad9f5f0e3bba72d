from django.contrib import admin

from apps.core.admin import VIEW, MerchantScopedAdmin, MerchantScopedTabularInline, ReadOnlyAdmin
from apps.tickets.models import (
    BusinessHours,
    Macro,
    SavedFilter,
    SlaEvent,
    SlaPolicy,
    Team,
    TeamMember,
    Ticket,
    TicketComment,
    TicketConversation,
    TicketCounter,
    TicketEvent,
)


class TicketEventInline(MerchantScopedTabularInline):
    model = TicketEvent
    merchant_permissions = VIEW  # the timeline
    extra = 0
    fields = ["created_at", "kind", "field", "old_value", "new_value", "actor", "actor_label"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TicketConversationInline(MerchantScopedTabularInline):
    model = TicketConversation
    extra = 0
    raw_id_fields = ["conversation"]
    readonly_fields = ["linked_at"]


@admin.register(Ticket)
class TicketAdmin(MerchantScopedAdmin):
    list_display = ["number", "subject", "merchant", "status", "priority", "assignee", "team", "created_at"]
    list_filter = ["status", "priority", "merchant"]
    search_fields = ["subject", "number", "contact__name", "contact__email"]
    list_select_related = ["merchant", "assignee", "team"]
    raw_id_fields = ["contact", "assignee", "team", "created_by", "merged_into", "sla_policy"]
    readonly_fields = [
        "number",
        "created_at",
        "updated_at",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
        "sla_paused_at",
        "sla_remaining",
        "sla_targets",
        "first_response_at",
        "last_agent_reply_at",
        "last_customer_message_at",
        "awaiting_reply_since",
        "next_response_cycle",
        "csat_sent_at",
        "csat_sent_via",
        "csat_rating",
        "csat_comment",
        "csat_answered_at",
    ]
    inlines = [TicketConversationInline, TicketEventInline]


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "kind", "field", "actor", "actor_label", "created_at"]
    list_filter = ["kind", "merchant"]
    list_select_related = ["ticket", "actor"]
    search_fields = ["ticket__subject", "field"]


@admin.register(SlaEvent)
class SlaEventAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "metric", "kind", "cycle", "due_at", "occurred_at"]
    list_filter = ["metric", "kind", "merchant"]
    list_select_related = ["ticket"]


@admin.register(TicketComment)
class TicketCommentAdmin(MerchantScopedAdmin):
    merchant_permissions = VIEW  # part of the ticket's history
    list_display = ["ticket", "is_public", "author", "created_at"]
    list_filter = ["is_public", "merchant"]
    list_select_related = ["ticket", "author"]
    raw_id_fields = ["ticket", "author", "conversation", "message"]
    search_fields = ["body"]


@admin.register(TicketConversation)
class TicketConversationAdmin(MerchantScopedAdmin):
    list_display = ["ticket", "conversation", "linked_at"]
    list_select_related = ["ticket"]
    raw_id_fields = ["ticket", "conversation"]


@admin.register(TeamMember)
class TeamMemberAdmin(MerchantScopedAdmin):
    list_display = ["team", "user", "added_at"]
    list_select_related = ["team", "user"]
    raw_id_fields = ["team", "user"]


@admin.register(TicketCounter)
class TicketCounterAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "value"]
    list_select_related = ["merchant"]


class TeamMemberInline(MerchantScopedTabularInline):
    model = TeamMember
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(MerchantScopedAdmin):
    list_display = ["name", "merchant", "created_at"]
    list_filter = ["merchant"]
    search_fields = ["name"]
    list_select_related = ["merchant"]
    inlines = [TeamMemberInline]


@admin.register(BusinessHours)
class BusinessHoursAdmin(MerchantScopedAdmin):
    list_display = ["name", "merchant", "timezone", "is_default"]
    list_filter = ["merchant", "is_default"]
    list_select_related = ["merchant"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(MerchantScopedAdmin):
    list_display = [
        "name",
        "merchant",
        "priority",
        "tag",
        "channel_kind",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "is_active",
        "position",
    ]
    list_filter = ["merchant", "priority", "is_active"]
    list_select_related = ["merchant"]
    raw_id_fields = ["business_hours", "escalate_team"]


@admin.register(Macro)
class MacroAdmin(MerchantScopedAdmin):
    list_display = ["name", "merchant", "set_status", "set_priority"]
    list_filter = ["merchant"]
    list_select_related = ["merchant"]
    raw_id_fields = ["set_assignee", "set_team"]


@admin.register(SavedFilter)
class SavedFilterAdmin(MerchantScopedAdmin):
    list_display = ["name", "user", "merchant", "created_at"]
    list_select_related = ["user", "merchant"]
    raw_id_fields = ["user"]
