from django.urls import path

from apps.contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_create, name="create"),
    path("<int:contact_id>/", views.contact_detail, name="detail"),
    path("<int:contact_id>/edit/", views.contact_edit, name="edit"),
    path("<int:contact_id>/consent/", views.consent_add, name="consent_add"),
    path("<int:contact_id>/export/", views.contact_export_view, name="export"),
    path("<int:contact_id>/erase/", views.contact_erase_view, name="erase"),
    path("<int:contact_id>/merge/", views.contact_merge_view, name="merge"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:import_id>/", views.import_map, name="import_map"),
    path("export/", views.contact_list_export, name="list_export"),
    path("export.csv", views.contact_list_export_csv, name="list_export_csv"),
    path("consent-ledger.csv", views.ledger_export, name="ledger_export"),
    path("settings/", views.contact_settings, name="settings"),
    path("settings/keywords/<int:keyword_id>/delete/", views.keyword_delete, name="keyword_delete"),
    path("settings/attributes/<int:attribute_id>/delete/", views.attribute_delete, name="attribute_delete"),
    path("confirm/<str:token>/", views.consent_confirm, name="confirm"),
]
