"""The one base every API endpoint inherits: it resolves the tenant and scopes every query."""

from __future__ import annotations

from rest_framework import mixins, viewsets
from rest_framework.views import APIView

from apps.core.api.parsers import BoundedJSONParser
from apps.core.api.schema import MerchantAutoSchema
from apps.core.roles import Role
from apps.merchants.models import ApiKey
from apps.merchants.selectors import membership_current


class MerchantScopedMixin:
    """Resolves `self.merchant` and `self.role` once; capabilities per action or method.

    `required_capability` is the capability every method needs; `capabilities` maps an action
    name (viewsets) or an HTTP method to a different one. `None` means any member.
    Every operation's schema lists the error envelope for each status it can answer.
    """

    required_capability: str | None = None
    capabilities: dict[str, str | None] = {}
    # The API key scopes that may use this view (apps/merchants/scopes.py); `action_scopes` maps an
    # action to others. Empty means admin keys only: a view that forgets to declare fails closed, and
    # tests/core/test_api_scopes.py fails.
    api_scopes: tuple[str, ...] = ()
    action_scopes: dict[str, tuple[str, ...]] = {}
    # Updates are PATCH, partial by nature; no PUT that would quietly act as one.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # Bodies are JSON (nested lists and objects do not survive form encoding); uploads opt in per action.
    parser_classes = [BoundedJSONParser]
    schema = MerchantAutoSchema()

    def resolve_tenant(self, request):
        if not hasattr(self, "_tenant"):
            if isinstance(request.auth, ApiKey):
                self._tenant = (request.auth.merchant, Role.ADMIN)
            else:
                membership = membership_current(user=request.user, merchant_id=request.session.get("merchant_id"))
                self._tenant = (membership.merchant, membership.role) if membership else (None, None)
        return self._tenant

    @property
    def merchant(self):
        return self.resolve_tenant(self.request)[0]

    @property
    def role(self) -> str | None:
        return self.resolve_tenant(self.request)[1]

    @property
    def acting_user(self):
        """The person behind the request, or None for an API key."""
        return None if isinstance(self.request.auth, ApiKey) else self.request.user

    def scopes_for(self) -> tuple[str, ...]:
        return self.action_scopes.get(getattr(self, "action", None), self.api_scopes)

    def capability_for(self, request) -> str | None:
        action = getattr(self, "action", None)
        for key in (action, request.method):
            if key in self.capabilities:
                return self.capabilities[key]
        return self.required_capability


class MerchantAPIView(MerchantScopedMixin, APIView):
    pass


class MerchantViewSet(MerchantScopedMixin, viewsets.GenericViewSet):
    """Generic viewset whose queryset is always narrowed to the caller's merchant.

    Subclasses implement `get_base_queryset()` (usually a selector); `for_merchant` is applied
    here as well, so a forgotten filter cannot leak another merchant's rows.
    """

    def get_base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.get_base_queryset_for_schema()
        return self.get_base_queryset().for_merchant(self.merchant)

    def get_base_queryset_for_schema(self):
        return self.queryset.none() if self.queryset is not None else None

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["merchant"] = self.merchant
        return context


class MerchantModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    MerchantViewSet,
):
    pass
