from rest_framework import permissions

from apps.core.roles import role_can


class IsMerchantMember(permissions.BasePermission):
    """The caller is an API key or a member of a merchant, with the capability the view needs."""

    message = "You are not a member of a merchant."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        merchant, role = view.resolve_tenant(request)
        if merchant is None:
            return False
        capability = view.capability_for(request)
        if capability and not role_can(role, capability):
            self.message = f"Your role cannot use {capability}."
            return False
        return True
