from django.urls import path

from apps.sandbox.views import graph, phone

app_name = "sandbox"

urlpatterns = [
    path("", phone.index, name="index"),
    path("phone/", phone.phone, name="phone"),
    path("phone/<int:contact_id>/", phone.thread, name="thread"),
    path("phone/<int:contact_id>/messages/", phone.thread_messages, name="thread_messages"),
    path("phone/<int:contact_id>/reply/", phone.reply, name="reply"),
    # The fake Graph API, at the paths apps/meta's clients build under CHARLA_SANDBOX_GRAPH_URL.
    path("graph/<str:version>/<str:node_id>/messages", graph.graph_messages, name="graph_messages"),
    path("graph/<str:version>/<str:node_id>/media", graph.graph_media, name="graph_media"),
    path("graph/<str:version>/<str:node_id>/message_attachments", graph.graph_media, name="graph_attachments"),
    path("graph/<str:version>/<str:node_id>", graph.graph_node, name="graph_node"),
]
