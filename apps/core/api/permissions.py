from rest_framework import exceptions, permissions

from apps.core.roles import role_can
from apps.merchants.models import ApiKey
from apps.merchants.scopes import scope_allows, scopes_required_text


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


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"


class ApiKeyHasScope(permissions.BasePermission):
    """An API key's scopes cover the view (members are governed by their role alone)."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        route_scopes = view.scopes_for()
        if scope_allows(granted=request.auth.scopes, route_scopes=route_scopes, method=request.method):
            return True
        raise InsufficientScope(
            f"This API key's scopes ({', '.join(request.auth.scopes) or 'none'}) do not allow {request.method} "
            f"here; it needs {scopes_required_text(route_scopes)}."
        )
