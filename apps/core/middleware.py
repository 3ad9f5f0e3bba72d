from django.utils.functional import SimpleLazyObject

from apps.merchants.selectors import membership_current

SESSION_MERCHANT_KEY = "merchant_id"


class CurrentMerchantMiddleware:
    """Resolves the signed-in member's current merchant once per request.

    `request.membership` is the user's membership in the merchant chosen with the switcher
    (kept in the session), or their first one; `request.merchant` is its merchant. Both are
    None for anonymous users and users without a membership.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def membership():
            if not request.user.is_authenticated:
                return None
            return membership_current(user=request.user, merchant_id=request.session.get(SESSION_MERCHANT_KEY))

        request.membership = SimpleLazyObject(membership)
        request.merchant = SimpleLazyObject(lambda: request.membership.merchant if request.membership else None)
        return self.get_response(request)
