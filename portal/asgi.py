import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from apps.core.body_limits import BodyLimitMiddleware  # noqa: E402
from portal.routing import WIDGET_PREFIX, agent_websocket_urlpatterns, widget_websocket_urlpatterns  # noqa: E402


class WidgetOrPortalRouter:
    """Widget sockets are opened from merchants' own sites, so they skip the portal's origin
    check and authorise by signed visitor token and the channel's allowed origins instead.
    Every other socket is the portal's: same origin and a session."""

    def __init__(self):
        self.widget = URLRouter(widget_websocket_urlpatterns)
        self.portal = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(agent_websocket_urlpatterns)))

    async def __call__(self, scope, receive, send):
        app = self.widget if scope["path"].startswith(WIDGET_PREFIX) else self.portal
        return await app(scope, receive, send)


application = ProtocolTypeRouter({"http": BodyLimitMiddleware(django_asgi_app), "websocket": WidgetOrPortalRouter()})
