from django.urls import path, re_path

from apps.conversations import consumers

# Agents: portal origin and session (middleware applied in portal/asgi.py).
websocket_urlpatterns = [
    path("ws/inbox/", consumers.InboxConsumer.as_asgi()),
]

# Customers: no session or origin middleware; the consumer checks the token and the channel's allowed origins.
widget_websocket_urlpatterns = [
    re_path(r"^ws/widget/(?P<public_key>[A-Za-z0-9_-]{8,64})/$", consumers.WidgetConsumer.as_asgi()),
]
