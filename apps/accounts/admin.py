from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts import lockout
from apps.accounts.models import User
from apps.core.admin import VIEW, MerchantScopedMixin, is_platform_admin
from apps.merchants.access_events import access_changed


@admin.register(User)
class UserAdmin(MerchantScopedMixin, BaseUserAdmin):
    # Merchant admins see their merchants' members; accounts (and who is a superuser) are the platform's.
    merchant_permissions = VIEW
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    member_fieldsets = (
        (None, {"fields": ("email", "full_name", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["unlock_sign_in"]

    @admin.action(description="Unlock sign-in (after too many failed attempts)")
    def unlock_sign_in(self, request, queryset) -> None:
        # The queryset is the changelist's: a merchant admin unlocks their own merchants' members only.
        emails = list(queryset.values_list("email", flat=True))
        for email in emails:
            lockout.signin_unlock(email=email)
        self.message_user(request, f"Sign-in unlocked for {len(emails)} account(s).", messages.SUCCESS)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not is_platform_admin(request):
            return self.member_fieldsets
        return super().get_fieldsets(request, obj)

    def get_list_display(self, request):
        if is_platform_admin(request):
            return super().get_list_display(request)
        return ["email", "full_name", "is_active", "last_login"]

    def get_list_filter(self, request):
        return super().get_list_filter(request) if is_platform_admin(request) else ["is_active"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:  # e.g. deactivated: the user's open sockets re-check and close
            access_changed(user_id=obj.pk)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # changed: old sessions end
            access_changed(user_id=int(id))
        return response
