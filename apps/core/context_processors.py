from apps.core.navigation import navigation_for
from apps.merchants.selectors import memberships_for_user


def portal(request) -> dict:
    user = getattr(request, "user", None)
    membership = getattr(request, "membership", None) if user is not None else None
    if user is None or not user.is_authenticated or not membership:
        return {}
    return {
        "current_merchant": membership.merchant,
        "current_role": membership.role,
        "navigation": navigation_for(membership.role, request.path),
        "my_memberships": memberships_for_user(user=request.user),
    }
