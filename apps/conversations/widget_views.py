"""HTTP endpoints the customer widget calls from merchants' sites (CORS for allowed origins only).

No cookies are involved: each call carries the signed visitor token, so these views are exempt from
CSRF and answer CORS without credentials.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache, wraps

from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from apps.contacts.services import phone_normalize
from apps.conversations import events, live, selectors, uploads, widget
from apps.conversations.services import widget as widget_writes
from apps.conversations.services.event_shapes import message_payload
from apps.core import inputs, ratelimit
from apps.core.body_limits import body_limit_register, limit_text, upload_over_limit
from apps.core.downloads import download_response

HISTORY_LIMIT = 50
CONSENT_CHANNELS = ("email", "whatsapp", "sms", "webchat", "messenger")


def _error(status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return JsonResponse(body, status=status)


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Access-Control-Expose-Headers"] = "Retry-After"  # not CORS-safelisted: the script backs off on it
    patch_vary_headers(response, ["Origin"])
    return response


def widget_endpoint(view):
    """Resolve the channel, refuse other origins (no CORS headers, so the browser hides the answer),
    answer the preflight, and read the visitor token for the view."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request, public_key: str):
        channel = selectors.widget_channel(public_key=public_key)
        if channel is None:
            return _error(404, "not_found", "No web-chat widget with this key.")
        origin = request.headers.get("Origin", "")
        if not widget.origin_allowed(channel=channel, origin=origin, portal_host=request.get_host()):
            return _error(403, "origin_not_allowed", "This site is not allowed to use this chat widget.")
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204), origin)
        if request.method != "POST":
            return _cors(_error(405, "method_not_allowed", "Use POST."), origin)
        if upload_over_limit(request, limit=uploads.MAX_UPLOAD_BYTES):
            return _cors(_error(413, "too_large", limit_text(uploads.MAX_UPLOAD_BYTES)), origin)
        try:
            data = _body(request)
        except inputs.InputError as exc:
            fields = {exc.field: [exc.message]} if exc.field else {}
            return _cors(_error(400, "bad_request", exc.message, fields), origin)
        return _cors(view(request, channel=channel, data=data), origin)

    return body_limit_register(wrapped, uploads.MAX_UPLOAD_BYTES)


def _body(request) -> dict:
    """The call's fields, within the edge's bounds (apps.core.inputs); InputError otherwise."""
    if request.content_type == "multipart/form-data":
        data = request.POST.dict()
        for name, value in data.items():
            inputs.text_check(name, field="body")
            inputs.text_check(value, field=name)
        return data
    data = inputs.json_loads(request.body or b"{}")
    if not isinstance(data, dict):
        raise inputs.InputError("Send a JSON object.")
    return data


def _visitor(channel, data: dict) -> widget.Visitor | None:
    return live.visitor_from_token(channel=channel, token=data.get("token"))


def _unauthorised() -> JsonResponse:
    return _error(401, "bad_token", "This chat session is not valid any more; reload the page.")


def _rate_limited(request, *, action: str, channel, visitor: widget.Visitor) -> JsonResponse | None:
    """A 429 when this call is one too many for the visitor, their IP or the merchant; None to go on."""
    ip = ratelimit.client_ip(request)
    try:
        ratelimit.rate_hit(*widget.widget_buckets(action=action, channel=channel, visitor_id=visitor.visitor_id, ip=ip))
    except ratelimit.RateLimited as exc:
        response = _error(429, "rate_limited", f"Too many requests; try again in {exc.retry_after} seconds.")
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None


# --------------------------------------------------------------------------- script
@lru_cache(maxsize=1)
def _widget_source() -> str:
    """The live client and the widget as one script a merchant's site loads (bundled when first served;
    inside the wrapper function, live.js's `CharlaLive` stays local to the widget)."""
    return '"use strict";\n' + "\n".join(_static_text(name) for name in ("core/live.js", "conversations/widget.js"))


def _static_text(name: str) -> str:
    path = finders.find(name)
    if not path:
        raise RuntimeError(f"{name} is missing from the static files")
    with open(path, encoding="utf-8") as fh:
        return fh.read()


@require_GET
def widget_js(request, public_key: str):
    """The snippet's script: the widget code with this channel's endpoints baked in."""
    if selectors.widget_channel(public_key=public_key) is None:
        raise Http404("No web-chat widget with this key.")
    base = request.build_absolute_uri("/").rstrip("/")
    config = {
        "key": public_key,
        "session": base + reverse("conversations:widget_session", args=[public_key]),
        "prechat": base + reverse("conversations:widget_prechat", args=[public_key]),
        "upload": base + reverse("conversations:widget_upload", args=[public_key]),
        "socket": base.replace("http", "ws", 1) + f"/ws/widget/{public_key}/",
    }
    # json.dumps output is a valid JS literal; "</" is escaped so the text can never close a script element.
    literal = json.dumps(config).replace("</", "<\\/")
    source = "(function (CONFIG) {\n" + _widget_source() + "\n})(" + literal + ");\n"
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # public code, no data
    return response


# --------------------------------------------------------------------------- session
@widget_endpoint
def widget_session(request, *, channel, data: dict):
    """Resume the visitor behind a stored token, or start a new visitor; history and the seq to resume from."""
    visitor = _visitor(channel, data)
    if visitor is None:
        visitor = widget.Visitor(channel_id=channel.pk, visitor_id=widget.visitor_id_new())
    last_seq = events.last_seq(merchant_id=channel.merchant_id)  # before reading history: resume covers the rest
    contact = selectors.visitor_contact(channel=channel, visitor_id=visitor.visitor_id)
    conversation = selectors.visitor_conversation(channel=channel, visitor_id=visitor.visitor_id)
    return JsonResponse(
        {
            "token": widget.visitor_token_make(channel_id=channel.pk, visitor_id=visitor.visitor_id),
            "config": widget.widget_config(channel=channel),
            "prechat_done": contact is not None,
            "conversation_id": conversation.pk if conversation else None,
            "messages": _history(conversation) if conversation else [],
            "last_seq": last_seq,
        }
    )


def _history(conversation) -> list[dict]:
    rows = selectors.widget_history(conversation=conversation, limit=HISTORY_LIMIT)
    files = uploads.widget_file_links(channel=conversation.channel, message_ids=[m.pk for m in rows if m.attachments])
    out = []
    for message in rows:
        view = live.widget_message_view(json.loads(json.dumps(message_payload(message), default=str)))
        if files.get(message.pk):
            view["attachments"] = files[message.pk]
        out.append(view)
    return out


# --------------------------------------------------------------------------- pre-chat form
# Shown to the customer as they are (the widget joins them): plain sentences, never a field name.
PRECHAT_MISSING = {
    "name": "Please enter your name.",
    "email": "Please enter your e-mail address.",
    "phone": "Please enter your phone number.",
}
PRECHAT_INVALID = {
    "name": "Please keep your name under 200 characters.",
    "email": "Please enter a valid e-mail address.",
    "phone": "Please enter a valid phone number with its country code, e.g. +34 600 111 222.",
}


def _prechat_clean(channel, data: dict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values = {f: str(data.get(f) or "").strip() for f in widget.PRECHAT_FIELDS}
    page_url = str(data.get("page_url") or "").strip()[:1000]
    consent = data.get("consent") in (True, "true", "on", "1")
    config = widget.widget_config(channel=channel)
    required = {f for f, mode in config["prechat_fields"].items() if mode == widget.PRECHAT_REQUIRED}
    if consent and config["consent_channel"] == "email":
        required.add("email")  # the consent would be for an address nobody gave
    for field in widget.PRECHAT_FIELDS:
        if not values[field] and field in required:
            errors[field] = [PRECHAT_MISSING[field]]
        elif values[field] and not _prechat_valid(channel, field, values):
            errors[field] = [PRECHAT_INVALID[field]]
    if page_url:
        try:
            URLValidator(schemes=["http", "https"])(page_url)
        except ValidationError:
            page_url = ""  # evidence is best-effort: a strange page address must not block the chat
    return {**values, "page_url": page_url, "consent": consent, **config}, errors


def _prechat_valid(channel, field: str, values: dict) -> bool:
    """Whether the typed value is usable; a phone is normalised to E.164 in `values` on the way."""
    if field == "name":
        return len(values["name"]) <= 200
    try:
        if field == "email":
            EmailValidator()(values["email"])
        else:
            values["phone"] = phone_normalize(values["phone"], region=channel.merchant.setting("default_region"))
    except ValidationError:
        return False
    return True


def _prechat_error(fields: dict) -> JsonResponse:
    message = " ".join(text for messages in fields.values() for text in messages)
    return _error(400, "invalid", message, fields)


@widget_endpoint
def widget_prechat(request, *, channel, data: dict):
    visitor = _visitor(channel, data)
    if visitor is None:
        return _unauthorised()
    if limited := _rate_limited(request, action="prechat", channel=channel, visitor=visitor):
        return limited
    cleaned, errors = _prechat_clean(channel, data)
    if errors:
        return _prechat_error(errors)
    try:
        widget_writes.widget_prechat_save(
            channel=channel, visitor=visitor, cleaned=cleaned, request=_prechat_request(request)
        )
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _prechat_error(fields)
    # No contact id: a different one after typing an address would tell anyone the address is a customer's.
    return JsonResponse({"ok": True, "consent": cleaned["consent"]})


def _prechat_request(request) -> widget_writes.PrechatRequest:
    return widget_writes.PrechatRequest(
        base_url=request.build_absolute_uri("/"),
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", ""),
    )


# --------------------------------------------------------------------------- files
@require_GET
def widget_file(request, public_key: str, signed: str):
    """A file of the customer's conversation, by a signed path only the widget of that conversation received."""
    channel = selectors.widget_channel(public_key=public_key)
    attachment = uploads.widget_file_read(channel=channel, signed=signed) if channel else None
    if attachment is None:
        raise Http404("No such file.")
    response = download_response(attachment.file.open("rb"), filename=attachment.filename)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --------------------------------------------------------------------------- uploads
@widget_endpoint
def widget_upload(request, *, channel, data: dict):
    visitor = _visitor(channel, data)
    if visitor is None:
        return _unauthorised()
    if limited := _rate_limited(request, action="upload", channel=channel, visitor=visitor):
        return limited
    upload = request.FILES.get("file")
    client_id = str(data.get("id") or "")
    if upload is None:
        return _error(400, "invalid", "Choose a file.", {"file": ["Choose a file."]})
    try:
        uuid.UUID(client_id)
        media_type = uploads.upload_validate(
            name=upload.name, content_type=upload.content_type, size=upload.size, head=uploads.upload_head(upload)
        )
    except ValueError:
        return _error(400, "invalid", live.MESSAGE_NOT_SENT, {"id": [live.MESSAGE_NOT_SENT]})
    except ValidationError as exc:
        return _error(400, "invalid", " ".join(exc.message_dict["file"]), exc.message_dict)
    try:
        result = widget_writes.widget_upload_receive(
            channel=channel,
            visitor_id=visitor.visitor_id,
            client_id=client_id,
            text=str(data.get("text") or "")[: live.MAX_TEXT],
            upload=upload,
            media_type=media_type,
        )
    except widget_writes.PrechatIncomplete as exc:
        return _error(400, "prechat_required", exc.message, {})
    return JsonResponse(result, status=201 if not result["duplicate"] else 200)
