from django.urls import path

from apps.conversations import webhooks

urlpatterns = [
    path("whatsapp/<int:channel_id>/", webhooks.whatsapp_webhook, name="conversations_webhook_whatsapp"),
    path("messenger/<int:channel_id>/", webhooks.messenger_webhook, name="conversations_webhook_messenger"),
]
