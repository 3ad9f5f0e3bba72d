from apps.core.navigation import navigation_for
from apps.merchants.selectors import memberships_for_user


def portal(request) -> dict:
    user, membership = request.user, request.membership  # membership: set by apps.core.middleware
    if user is None or not user.is_authenticated or not membership:  # None: an API request without a user
        return {}
    return {
        "current_merchant": membership.merchant,
        "current_role": membership.role,
        "navigation": navigation_for(membership.role, request.path),
        "my_memberships": memberships_for_user(user=request.user),
    }
