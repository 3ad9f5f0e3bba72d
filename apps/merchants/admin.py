from django import forms
from django.contrib import admin, messages

from apps.core.admin import VIEW, MerchantScopedAdmin, MerchantScopedTabularInline, is_platform_admin
from apps.merchants import access_events, services
from apps.merchants.models import ApiKey, Invitation, Membership, Merchant
from apps.merchants.scopes import ApiScope


class MembershipInline(MerchantScopedTabularInline):
    model = Membership
    merchant_permissions = VIEW  # members are managed in the portal, which keeps the last admin
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    list_display = ["name", "slug", "timezone", "locale", "created_at"]
    list_filter = ["locale", "timezone"]
    search_fields = ["name", "slug"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]
    # Merchant admins edit their own merchant; creating one, or renaming its slug, is the platform's.
    # Its settings have validated pages in the portal, so the raw JSON stays read-only for them.
    merchant_permissions = frozenset({"view", "change"})

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if is_platform_admin(request) else [*fields, "slug", "settings"]

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:  # an edited or deleted membership: its user's sockets re-check
            for membership in [obj for obj, _ in formset.changed_objects] + formset.deleted_objects:
                access_events.access_changed(user_id=membership.user_id)


@admin.register(Membership)
class MembershipAdmin(MerchantScopedAdmin):
    merchant_permissions = VIEW  # members are managed in the portal, which keeps the last admin
    list_display = ["user", "merchant", "role", "created_at"]
    list_filter = ["role", "merchant"]
    search_fields = ["user__email", "merchant__name", "merchant__slug"]
    list_select_related = ["user", "merchant"]
    autocomplete_fields = ["user", "merchant"]

    # Admin edits bypass the services, so they tell the member's sockets themselves.
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:
            access_events.access_changed(user_id=obj.user_id)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        access_events.access_changed(user_id=obj.user_id)

    def delete_queryset(self, request, queryset) -> None:
        user_ids = set(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in user_ids:
            access_events.access_changed(user_id=user_id)


@admin.register(Invitation)
class InvitationAdmin(MerchantScopedAdmin):
    merchant_permissions = frozenset({"view", "delete"})  # sent from the portal; deleting one withdraws it
    list_display = ["email", "merchant", "role", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role", "merchant"]
    search_fields = ["email", "merchant__name"]
    list_select_related = ["merchant", "invited_by"]
    readonly_fields = ["token_hash", "invited_by", "created_at", "accepted_at"]

    def has_add_permission(self, request) -> bool:
        return False  # invitations are sent from the portal, which e-mails the link


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["merchant", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(MerchantScopedAdmin):
    list_display = ["name", "merchant", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["merchant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "merchant__name"]
    list_select_related = ["merchant", "created_by"]
    readonly_fields = ["prefix", "key_hash", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["merchant", "name", "scopes"] if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*self.readonly_fields, "merchant"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key = services.api_key_create(
            merchant=obj.merchant, name=obj.name, scopes=form.cleaned_data["scopes"], created_by=request.user
        )
        obj.pk = key.pk
        messages.warning(request, f"Copy the new key now, it will not be shown again: {key.plain}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(api_key=key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")
