from rest_framework import authentication, exceptions

from apps.merchants.services import api_key_authenticate


class ApiKeyPrincipal:
    """The caller behind an API key: acts with the admin role inside the key's merchant."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None
    id = None

    def __init__(self, api_key):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not value.strip():
            raise exceptions.AuthenticationFailed("Send the API key as 'Authorization: Bearer <key>'.")
        api_key = api_key_authenticate(value.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("The API key is invalid or has been revoked.")
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class PortalSessionAuthentication(authentication.SessionAuthentication):
    """The portal's own pages call the API with the signed-in session (CSRF enforced)."""
