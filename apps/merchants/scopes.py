"""What an API key may do: its scopes, and the one rule matching them against a route's scopes.

Every API view declares `api_scopes`, the scopes that may use it (`apps/core/api/views.py`). A key with
`admin` may do everything; `read` allows GET/HEAD/OPTIONS on every route that is not admin-only; any
other scope allows every method on the routes that list it. Members signed in to the portal are
governed by their role instead; scopes are for keys only.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiScope(models.TextChoices):
    READ = "read", "Read: GET on every route except the admin ones"
    MESSAGING = "messaging", "Messaging: conversations, messages, tickets, contacts"
    MARKETING = "marketing", "Marketing: templates, segments, campaigns, contacts, consents"
    ADMIN = "admin", "Admin: everything, the merchant, channels, members and settings included"


def scopes_clean(values: Iterable[str] | None) -> list[str]:
    """The scopes in their canonical order; ValidationError naming `scopes` when empty or unknown."""
    chosen = set(values or [])
    unknown = sorted(chosen - set(ApiScope.values))
    if unknown:
        raise ValidationError({"scopes": [f"Unknown scope “{unknown[0]}”; choose from: {', '.join(ApiScope.values)}."]})
    if not chosen:
        raise ValidationError({"scopes": ["Choose at least one scope."]})
    return [scope for scope in ApiScope.values if scope in chosen]


def scope_allows(*, granted: Iterable[str], route_scopes: Iterable[str], method: str) -> bool:
    granted, route_scopes = set(granted), set(route_scopes)
    if ApiScope.ADMIN in granted:
        return True
    if method.upper() in SAFE_METHODS and ApiScope.READ in granted and route_scopes != {ApiScope.ADMIN}:
        return True
    return bool(granted & route_scopes)


def scopes_required_text(route_scopes: Iterable[str]) -> str:
    return " or ".join(sorted({*route_scopes, ApiScope.ADMIN}))
