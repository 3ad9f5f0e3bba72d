from django.urls import path

from apps.campaigns import views, wizard_views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", wizard_views.wizard_new, name="new"),
    path("new/audience/", views.campaign_audience, name="audience"),
    path("new/template-fields/", wizard_views.wizard_template_fields, name="wizard_template_fields"),
    path("new/count/", wizard_views.wizard_count, name="wizard_count"),
    path("<int:campaign_id>/steps/template/", wizard_views.wizard_template, name="wizard_template"),
    path("<int:campaign_id>/steps/audience/", wizard_views.wizard_audience, name="wizard_audience"),
    path("<int:campaign_id>/steps/schedule/", wizard_views.wizard_schedule, name="wizard_schedule"),
    path("<int:campaign_id>/steps/review/", wizard_views.wizard_review, name="wizard_review"),
    path("<int:campaign_id>/steps/launch/", wizard_views.wizard_launch, name="wizard_launch"),
    path("<int:campaign_id>/test-contacts/", wizard_views.test_contacts, name="test_contacts"),
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
