"""portal.urls plus /bench/noop: the floor a Django view costs under the same server."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from portal.urls import urlpatterns as portal_urlpatterns


@csrf_exempt
def noop(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/noop", noop), *portal_urlpatterns]
