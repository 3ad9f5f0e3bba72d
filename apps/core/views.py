from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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


@member_required()
def dashboard(request):
    return render(request, "core/dashboard.html", {"cards": dashboard_cards(membership=request.membership)})
