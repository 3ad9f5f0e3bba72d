from django.urls import path

from apps.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("new/audience/", views.campaign_audience, name="audience"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("<int:campaign_id>/launch/", views.campaign_launch, name="launch"),
    path("<int:campaign_id>/pause/", views.campaign_pause, name="pause"),
    path("<int:campaign_id>/resume/", views.campaign_resume, name="resume"),
    path("<int:campaign_id>/cancel/", views.campaign_cancel, name="cancel"),
    path("<int:campaign_id>/test-send/", views.campaign_test_send, name="test_send"),
    path("<int:campaign_id>/deliveries.csv", views.campaign_export, name="export"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<int:template_id>/preview/", views.template_preview, name="template_preview"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_new, name="segment_new"),
    path("segments/count/", views.segment_count, name="segment_count"),
    path("segments/<int:segment_id>/", views.segment_edit, name="segment_edit"),
]
