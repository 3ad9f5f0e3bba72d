from rest_framework.throttling import SimpleRateThrottle

from apps.merchants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One bucket per API key (and per user for session callers)."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
