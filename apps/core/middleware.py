import zoneinfo

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from apps.core import inputs
from apps.core.api.errors import error_body, is_api_request
from apps.merchants.selectors import membership_current

SESSION_MERCHANT_KEY = "merchant_id"


class CurrentMerchantMiddleware:
    """Resolves the signed-in member's current merchant once per request.

    `request.membership` is the user's membership in the merchant chosen with the switcher
    (kept in the session), or their first one; `request.merchant` is its merchant. Both are
    None for anonymous users and users without a membership.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        def membership():
            if not request.user.is_authenticated:
                return None
            return membership_current(user=request.user, merchant_id=request.session.get(SESSION_MERCHANT_KEY))

        request.membership = SimpleLazyObject(membership)
        request.merchant = SimpleLazyObject(lambda: request.membership.merchant if request.membership else None)
        return self.get_response(request)


def member_zone_name(*, user, merchant) -> str:
    """The zone a member reads times in: their own if they set one, else their current merchant's."""
    own = getattr(user, "timezone", None) if user is not None and user.is_authenticated else None
    return own or (merchant.timezone if merchant else "UTC")


class MemberTimezoneMiddleware:
    """Activates the member's zone (DR-64) for the request, so every `local_datetime`,
    `relative_time` and form field shows and reads wall times in it. API answers stay in UTC (the
    contract is ISO-8601 UTC), so API paths are left alone and resolve no membership here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_request(request) or not request.user.is_authenticated:
            return self.get_response(request)
        zone = zoneinfo.ZoneInfo(member_zone_name(user=request.user, merchant=request.merchant))
        with timezone.override(zone):
            return self.get_response(request)


# Every page's scripts and styles come from our own static files (no inline <script>, on*= handler or
# style= attribute anywhere in the templates), so an injected one does not run. The widget is not
# framed (its script builds the chat in the merchant's page), so no page may be framed at all.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)
# Swagger UI (/api/docs/, a third-party page) ships an inline <style> block: its styles only are relaxed.
API_DOCS_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    """Sets the portal's Content-Security-Policy on every response that has none of its own (downloads do)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            match = request.resolver_match
            docs = match is not None and match.view_name == "api-docs"
            response["Content-Security-Policy"] = API_DOCS_POLICY if docs else CONTENT_SECURITY_POLICY
        return response


class EdgeInputMiddleware:
    """Refuses a request whose path, query string or urlencoded form holds text that cannot be stored
    (NUL, control characters), before any view passes it to a query: a 400, never the database's 500.

    JSON bodies are bounded by their parsers (apps.core.api.parsers, the widget, the webhooks) and
    multipart fields by the forms and serializers, whose CharFields refuse NUL; a multipart body is
    not read here, so views that need the raw stream still have it.
    """

    FORM = "application/x-www-form-urlencoded"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self._problem(request)
        if problem is None:
            return self.get_response(request)
        field, message = problem
        if is_api_request(request):
            return JsonResponse(error_body("validation_error", f"{field}: {message}", {field: [message]}), status=400)
        return HttpResponseBadRequest(f"{field}: {message}", content_type="text/plain; charset=utf-8")

    def _problem(self, request) -> tuple[str, str] | None:
        for name, text in self._texts(request):
            message = inputs.text_problem(text)
            if message:
                return inputs.text_clean(name), message
        return None

    def _texts(self, request):
        yield "path", request.path_info
        forms = [request.GET]
        if request.method == "POST" and request.content_type == self.FORM:
            forms.append(request.POST)
        for form in forms:
            for name, values in form.lists():
                yield name, name
                yield from ((name, value) for value in values)
