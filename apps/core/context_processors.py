from apps.core.navigation import navigation_for, settings_navigation_for
from apps.merchants.selectors import memberships_for_user


def portal(request) -> dict:
    user, membership = request.user, request.membership  # membership: set by apps.core.middleware
    if user is None or not user.is_authenticated or not membership:  # None: an API request without a user
        return {}
    hub = settings_navigation_for(membership.role, _view_name(request))
    return {
        "current_merchant": membership.merchant,
        "current_role": membership.role,
        "navigation": navigation_for(membership.role, request.path, settings_page=any(i["active"] for i in hub)),
        "settings_navigation": hub,
        "my_memberships": memberships_for_user(user=request.user),
    }


def _view_name(request) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match else None
