from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """History that must never change (ledgers, timelines): viewable, never added, edited or deleted."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
