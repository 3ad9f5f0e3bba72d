from apps.campaigns import routing as campaigns_routing
from apps.conversations import routing as conversations_routing

WIDGET_PREFIX = "/ws/widget/"

agent_websocket_urlpatterns = [
    *conversations_routing.websocket_urlpatterns,
    *campaigns_routing.websocket_urlpatterns,
]
widget_websocket_urlpatterns = [*conversations_routing.widget_websocket_urlpatterns]
