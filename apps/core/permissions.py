"""Access checks for the portal's HTML views."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from apps.core.roles import role_can


def member_required(capability: str | None = None):
    """A view for signed-in members of a merchant, optionally limited to a capability.

    Anonymous users go to the login page; users with no membership see a page saying so;
    members whose role lacks the capability get 403. The view runs with `request.merchant`
    and `request.membership` set.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.membership:
                return render(request, "core/no_membership.html", status=403)
            if capability and not role_can(request.membership.role, capability):
                raise PermissionDenied(f"Your role cannot use {capability}.")
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability
        return wrapped

    return decorator
