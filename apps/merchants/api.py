from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.views import MerchantAPIView, MerchantViewSet
from apps.core.roles import Capability
from apps.merchants import selectors, services
from apps.merchants.models import Membership
from apps.merchants.scopes import ApiScope
from apps.merchants.serializers import (
    InvitationInputSerializer,
    InvitationOutputSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MerchantSerializer,
)


class MerchantDetailApi(MerchantAPIView):
    """The caller's merchant. Everyone may read it; admins may change name, timezone, locale."""

    api_scopes = (ApiScope.ADMIN,)

    capabilities = {"PATCH": Capability.SETTINGS, "PUT": Capability.SETTINGS}

    @extend_schema(responses=MerchantSerializer)
    def get(self, request):
        return Response(MerchantSerializer(self.merchant).data)

    @extend_schema(request=MerchantSerializer, responses=MerchantSerializer)
    def patch(self, request):
        serializer = MerchantSerializer(self.merchant, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        merchant = services.merchant_update(merchant=self.merchant, **serializer.validated_data)
        return Response(MerchantSerializer(merchant).data)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, MerchantViewSet):
    """Members of the merchant: list for everyone; change role, remove and invite for admins."""

    api_scopes = (ApiScope.ADMIN,)

    serializer_class = MemberSerializer
    queryset = Membership.objects.none()
    capabilities = {
        "partial_update": Capability.SETTINGS,
        "destroy": Capability.SETTINGS,
        "invite": Capability.SETTINGS,
    }

    def get_base_queryset(self):
        return selectors.member_list(merchant=self.merchant)

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        membership = self.get_object()
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_set_role(membership=membership, role=data.validated_data["role"])
        return Response(MemberSerializer(membership).data)

    def destroy(self, request, pk=None):
        services.membership_remove(membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=InvitationInputSerializer, responses={201: InvitationOutputSerializer})
    @action(detail=False, methods=["post"])
    def invite(self, request):
        data = InvitationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sent = services.invitation_create(merchant=self.merchant, invited_by=self.acting_user, **data.validated_data)
        return Response(InvitationOutputSerializer(sent.invitation).data, status=status.HTTP_201_CREATED)
