from django.urls import path, re_path

from apps.conversations import widget_views
from apps.conversations.views import actions, channels, composer, conversation, inbox

app_name = "conversations"

PUBLIC_KEY = r"(?P<public_key>[A-Za-z0-9_-]{8,64})"

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("c/<int:conversation_id>/", inbox.conversation, name="conversation"),
    path("c/<int:conversation_id>/messages/", conversation.messages_older, name="messages_older"),
    path("c/<int:conversation_id>/row/", inbox.conversation_row, name="conversation_row"),
    path("c/<int:conversation_id>/send/", composer.message_send, name="message_send"),
    path("c/<int:conversation_id>/composer/", composer.composer, name="composer"),
    path("c/<int:conversation_id>/template/", composer.template_form, name="template_form"),
    path("c/<int:conversation_id>/template/send/", composer.template_send, name="template_send"),
    path("c/<int:conversation_id>/m/<int:message_id>/", conversation.message_item, name="message_item"),
    path("c/<int:conversation_id>/assign/", actions.conversation_assign, name="assign"),
    path("c/<int:conversation_id>/status/", actions.conversation_status, name="status"),
    path("c/<int:conversation_id>/snooze/", actions.conversation_snooze, name="snooze"),
    path("c/<int:conversation_id>/labels/", actions.conversation_labels, name="labels"),
    path("attachments/<int:attachment_id>/", conversation.attachment_download, name="attachment"),
    path("channels/", channels.channel_list, name="channels"),
    # One view per kind of Meta channel, the kind fixed by the route (no path parameter to validate).
    path("channels/connect/whatsapp/", channels.channel_connect, {"kind": "whatsapp"}, name="connect_whatsapp"),
    path("channels/connect/messenger/", channels.channel_connect, {"kind": "messenger"}, name="connect_messenger"),
    path("channels/<int:channel_id>/", channels.channel_edit, name="channel_edit"),
    path("channels/<int:channel_id>/check/", channels.channel_check, name="channel_check"),
    path("channels/<int:channel_id>/toggle/", channels.channel_toggle, name="channel_toggle"),
    path("channels/<int:channel_id>/delete/", channels.channel_delete, name="channel_delete"),
    path("channels/widgets/new/", channels.widget_new, name="widget_new"),
    path("channels/<int:channel_id>/widget/", channels.widget_settings, name="widget_settings"),
    path("channels/<int:channel_id>/widget/preview/", channels.widget_preview, name="widget_preview"),
    # Public: called from merchants' sites, authorised by the channel's public key, allowed origins and token.
    re_path(rf"^widget/{PUBLIC_KEY}\.js$", widget_views.widget_js, name="widget_js"),
    re_path(rf"^widget/{PUBLIC_KEY}/session/$", widget_views.widget_session, name="widget_session"),
    re_path(rf"^widget/{PUBLIC_KEY}/prechat/$", widget_views.widget_prechat, name="widget_prechat"),
    re_path(rf"^widget/{PUBLIC_KEY}/upload/$", widget_views.widget_upload, name="widget_upload"),
    re_path(
        rf"^widget/{PUBLIC_KEY}/files/(?P<signed>[A-Za-z0-9_:.-]{{10,300}})/$",
        widget_views.widget_file,
        name="widget_file",
    ),
]
