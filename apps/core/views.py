from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.api.errors import error_body, is_api_request
from apps.core.health import readiness
from apps.core.permissions import member_required
from apps.core.selectors import dashboard_cards


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    failures = readiness()
    if failures:
        failing = ", ".join(sorted(failures))
        return JsonResponse({"status": "unavailable", "failing": failing, "checks": failures}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
def favicon(request):
    # Browsers ask for /favicon.ico whatever the page links; send them to the one icon in static/.
    return HttpResponsePermanentRedirect(static("core/favicon.svg"))


@member_required()
def dashboard(request):
    return render(request, "core/dashboard.html", {"cards": dashboard_cards(membership=request.membership)})


def page_not_found(request, exception=None):
    if is_api_request(request):
        return JsonResponse(error_body("not_found", "No such API path or object."), status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if is_api_request(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side; it was logged."), status=500)
    return render(request, "500.html", status=500)
