from django.urls import path

from apps.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.page_view("conversations"), name="index"),
    *[path(f"{slug}/", views.page_view(slug), name=slug) for slug in views.REPORTS],
    *[path(f"{slug}/export.csv", views.export_view(slug), name=f"{slug}_csv") for slug in views.REPORTS],
    path("campaigns/", views.campaign_index, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_funnel, name="campaign_funnel"),
    path("campaigns/<int:campaign_id>/export.csv", views.campaign_funnel_csv, name="campaign_funnel_csv"),
]
