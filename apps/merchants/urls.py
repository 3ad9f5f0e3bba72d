from django.urls import path

from apps.merchants import views

app_name = "merchants"

urlpatterns = [
    path("switch/", views.merchant_switch, name="switch"),
    path("settings/", views.merchant_settings, name="settings"),
    path("settings/members/", views.member_list, name="members"),
    path("settings/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("settings/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("settings/api-keys/", views.api_key_list, name="api_keys"),
    path("settings/api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
