"""Operator views. Channel secrets are masked and write-only here too; webhook events can be replayed."""

from django import forms
from django.contrib import admin, messages

from apps.conversations.models import (
    AgentPresence,
    Attachment,
    CannedResponse,
    Channel,
    Conversation,
    ConversationLifecycleEvent,
    LiveEvent,
    LiveEventSeq,
    Message,
    WebhookEvent,
)
from apps.conversations.services import channels as channel_services
from apps.core.admin import VIEW, MerchantScopedAdmin, ReadOnlyAdmin


class ChannelAdminForm(forms.ModelForm):
    """Secrets are typed in but never rendered back; leaving a field blank keeps the stored value."""

    access_token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    app_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    verify_token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = Channel
        fields = ["merchant", "kind", *channel_services.EDITABLE]

    def clean(self):
        data = super().clean()
        for name in Channel.SECRET_FIELDS:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        return data


@admin.register(Channel)
class ChannelAdmin(MerchantScopedAdmin):
    form = ChannelAdminForm
    list_display = ["name", "kind", "merchant", "is_active", "secrets_set", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "merchant__name", "merchant__slug"]
    list_select_related = ["merchant"]
    readonly_fields = ["public_key", "created_at", "updated_at"]

    @admin.display(description="secrets")
    def secrets_set(self, channel: Channel) -> str:
        return ", ".join(f"{name}={'set' if getattr(channel, name) else '—'}" for name in Channel.SECRET_FIELDS)


@admin.register(Conversation)
class ConversationAdmin(MerchantScopedAdmin):
    list_display = ["id", "merchant", "channel", "contact", "status", "assignee", "last_message_at", "unread_count"]
    list_filter = ["status", "channel__kind"]
    search_fields = ["contact__name", "contact__phone", "merchant__slug"]
    list_select_related = ["merchant", "channel", "contact", "assignee"]
    raw_id_fields = ["channel", "contact", "assignee"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Message)
class MessageAdmin(MerchantScopedAdmin):
    merchant_permissions = VIEW  # the conversation history
    list_display = ["id", "merchant", "conversation", "direction", "kind", "status", "error_code", "created_at"]
    list_filter = ["direction", "status", "kind"]
    search_fields = ["provider_message_id", "merchant__slug"]
    list_select_related = ["merchant", "conversation"]
    raw_id_fields = ["conversation", "channel", "author"]


@admin.register(Attachment)
class AttachmentAdmin(MerchantScopedAdmin):
    merchant_permissions = VIEW  # files of the history, fetched by the media pipeline
    list_display = ["id", "merchant", "message", "media_type", "status", "attempts", "created_at"]
    list_filter = ["status", "media_type"]
    list_select_related = ["merchant", "message"]
    raw_id_fields = ["message"]


@admin.register(CannedResponse)
class CannedResponseAdmin(MerchantScopedAdmin):
    list_display = ["shortcut", "title", "merchant", "updated_at"]
    search_fields = ["shortcut", "title", "merchant__slug"]
    list_select_related = ["merchant"]


@admin.register(AgentPresence)
class AgentPresenceAdmin(MerchantScopedAdmin):
    merchant_permissions = VIEW  # kept by the agents' sockets
    list_display = ["user", "merchant", "status", "last_seen_at", "last_assigned_at"]
    list_filter = ["status"]
    list_select_related = ["user", "merchant"]


@admin.action(description="Process again")
def replay(modeladmin, request, queryset):
    from apps.conversations.services.maintenance import webhook_events_process_again

    queued = webhook_events_process_again(event_ids=list(queryset.values_list("id", flat=True)))
    messages.info(request, f"{queued} event(s) queued.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(MerchantScopedAdmin):
    merchant_permissions = VIEW  # what Meta sent; replaying is the one action
    list_display = ["id", "merchant", "channel", "provider", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["provider", "status"]
    list_select_related = ["merchant", "channel"]
    readonly_fields = [
        "merchant",
        "channel",
        "provider",
        "body",
        "status",
        "error",
        "attempts",
        "received_at",
        "processed_at",
    ]
    actions = [replay]


@admin.register(LiveEvent)
class LiveEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "merchant", "kind", "conversation", "created_at"]
    list_filter = ["kind", "merchant"]
    search_fields = ["kind"]
    list_select_related = ["merchant", "conversation"]


@admin.register(LiveEventSeq)
class LiveEventSeqAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "value"]
    list_select_related = ["merchant"]


@admin.register(ConversationLifecycleEvent)
class ConversationLifecycleEventAdmin(ReadOnlyAdmin):
    """The resolutions and reopenings reports count: a timeline, never edited."""

    list_display = ["conversation", "kind", "assignee", "at"]
    list_filter = ["kind", "merchant"]
    list_select_related = ["conversation", "assignee"]
