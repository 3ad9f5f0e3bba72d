from rest_framework.routers import SimpleRouter

from apps.campaigns import api

router = SimpleRouter()
router.register("templates", api.TemplateViewSet, basename="template")
router.register("segments", api.SegmentViewSet, basename="segment")
router.register("campaigns", api.CampaignViewSet, basename="campaign")

urlpatterns = router.urls
