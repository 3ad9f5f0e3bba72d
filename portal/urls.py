from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import views as core_views

api_v1 = [
    path("", include("apps.merchants.api_urls")),
    path("", include("apps.contacts.api_urls")),
    path("", include("apps.conversations.api_urls")),
    path("", include("apps.tickets.api_urls")),
    path("", include("apps.campaigns.api_urls")),
    path("", include("apps.reports.api_urls")),
]

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (`?script`), not inline, for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("webhooks/", include("apps.conversations.webhook_urls")),
    path("demo-shop/", include("apps.conversations.demo_urls")),
    path("", include("apps.merchants.urls")),
    path("contacts/", include("apps.contacts.urls")),
    path("inbox/", include("apps.conversations.urls")),
    path("tickets/", include("apps.tickets.urls")),
    path("campaigns/", include("apps.campaigns.urls")),
    path("reports/", include("apps.reports.urls")),
    path("sandbox/", include("apps.sandbox.urls")),
    path("", include("apps.core.urls")),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
