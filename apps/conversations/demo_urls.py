"""The public demo shop (mounted at /demo-shop/): a fake shop page showing a merchant's widget, when it allows it."""

from django.urls import path, re_path

from apps.conversations.urls import PUBLIC_KEY
from apps.conversations.views import channels

app_name = "demo"

urlpatterns = [
    path("", channels.demo_shop_only, name="only"),
    re_path(rf"^{PUBLIC_KEY}/$", channels.demo_shop, name="shop"),
]
