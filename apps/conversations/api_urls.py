from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.conversations import api

router = SimpleRouter()
router.register("channels", api.ChannelViewSet, basename="channel")
router.register("conversations", api.ConversationViewSet, basename="conversation")
router.register("canned-responses", api.CannedResponseViewSet, basename="canned-response")

urlpatterns = [
    *router.urls,
    path("attachments/<int:pk>/file/", api.AttachmentFileApi.as_view(), name="attachment-file"),
]
