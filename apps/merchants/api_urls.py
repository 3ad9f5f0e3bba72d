from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.merchants import api

router = SimpleRouter()
router.register("members", api.MemberViewSet, basename="member")

urlpatterns = [path("merchant/", api.MerchantDetailApi.as_view(), name="merchant-detail"), *router.urls]
