from apps.core.navigation import navigation_for
from apps.merchants.selectors import memberships_for_user


def portal(request) -> dict:
    membership = request.membership  # set by apps.core.middleware on every request
    if not request.user.is_authenticated or not membership:
        return {}
    return {
        "current_merchant": membership.merchant,
        "current_role": membership.role,
        "navigation": navigation_for(membership.role, request.path),
        "my_memberships": memberships_for_user(user=request.user),
    }
