from django.urls import path

from apps.tickets import settings_views, views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("new/requester-search/", views.requester_search, name="requester_search"),
    path("from-conversation/<int:conversation_id>/", views.ticket_from_conversation, name="from_conversation"),
    path("filters/save/", views.filter_save, name="filter_save"),
    path("filters/<int:filter_id>/delete/", views.filter_delete, name="filter_delete"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("<int:ticket_id>/update/", views.ticket_update, name="update"),
    path("<int:ticket_id>/comment/", views.ticket_comment, name="comment"),
    path("<int:ticket_id>/macro/", views.ticket_apply_macro, name="apply_macro"),
    path("<int:ticket_id>/merge/", views.ticket_merge, name="merge"),
    path("csat/<str:token>/", views.csat, name="csat"),
]

for _slug in settings_views.KINDS:
    urlpatterns += [
        path(f"settings/{_slug}/", settings_views.list_view(_slug), name=f"{_slug}_list"),
        path(f"settings/{_slug}/<int:pk>/", settings_views.edit_view(_slug), name=f"{_slug}_edit"),
        path(f"settings/{_slug}/<int:pk>/delete/", settings_views.delete_view(_slug), name=f"{_slug}_delete"),
    ]
