"""The fake Graph API: what apps/meta/client.py and batch.py send, answered as Meta answers.

Only sandbox channels exist here: a number or page id of any other channel (a real one included) is
Meta's "object does not exist" (400, code 100, subcode 33), so nothing real can be sent to the sandbox.
Requests carry the channel's own token (Bearer, or Messenger's `access_token` parameter), as Meta's do.
"""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.conversations.models import Channel, ChannelKind
from apps.core.inputs import InputError, json_loads
from apps.meta import simulate
from apps.sandbox import selectors, services
from apps.sandbox.guard import sandbox_on


class _Refusal(Exception):
    def __init__(self, status: int, body: dict):
        self.status, self.body = status, body


def _token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return (
        header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.GET.get("access_token", "")
    )


def _channel(request: HttpRequest, node_id: str, method: str) -> Channel:
    channel = selectors.graph_channel(node_id=node_id)
    if channel is None:
        raise _Refusal(400, simulate.unknown_object(node_id, method))
    token = _token(request)
    if not token or not constant_time_compare(token, channel.access_token):
        raise _Refusal(401, simulate.graph_error(190, "Invalid OAuth access token - Cannot parse access token"))
    return channel


def _invalid(message: str) -> _Refusal:
    return _Refusal(400, simulate.graph_error(100, f"(#100) {message}"))


def _answer(method: str):
    """A Graph route: the sandbox switch, no CSRF (a server calls it), one method, refusals as Graph errors."""

    def decorate(handler):
        @sandbox_on
        @csrf_exempt
        @require_http_methods([method])
        @wraps(handler)
        def view(request: HttpRequest, version: str, node_id: str) -> JsonResponse:
            try:
                return JsonResponse(handler(request, node_id))
            except _Refusal as refusal:
                return JsonResponse(refusal.body, status=refusal.status)

        return view

    return decorate


def _send_body(request: HttpRequest) -> dict:
    try:
        body = json_loads(request.body)
    except InputError as exc:
        raise _invalid(exc.message) from None
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    return body


def _whatsapp_send(channel: Channel, body: dict) -> dict:
    if body.get("messaging_product") != "whatsapp":
        raise _invalid("The parameter messaging_product is required and must be 'whatsapp'.")
    to = str(body.get("to") or "").lstrip("+")
    user_id = body.get("recipient") if isinstance(body.get("recipient"), str) else ""
    kind = str(body.get("type") or "text")
    if not (to or user_id):
        raise _invalid("The parameter to is required.")
    if not isinstance(body.get(kind), dict):
        raise _invalid(f"The parameter {kind} is required.")
    message_id = services.graph_send_accept(channel=channel, payload=body, address=to or user_id, kind=kind)
    return simulate.whatsapp_send_answer(to=to or user_id, message_id=message_id, by_number=bool(to))


def _messenger_send(channel: Channel, body: dict) -> dict:
    recipient = body.get("recipient")
    psid = str(recipient.get("id") or "") if isinstance(recipient, dict) else ""
    if not psid:
        raise _invalid("The parameter recipient is required.")
    if not isinstance(body.get("message"), dict):
        raise _invalid("The parameter message is required.")
    message_id = services.graph_send_accept(channel=channel, payload=body, address=psid, kind="message")
    return simulate.messenger_send_answer(recipient_id=psid, message_id=message_id)


@_answer("POST")
def graph_messages(request: HttpRequest, node_id: str) -> dict:
    """POST /<phone_number_id>/messages (WhatsApp) or /<page_id>/messages (Messenger)."""
    channel = _channel(request, node_id, "post")
    body = _send_body(request)
    return _whatsapp_send(channel, body) if channel.kind == ChannelKind.WHATSAPP else _messenger_send(channel, body)


@_answer("POST")
def graph_media(request: HttpRequest, node_id: str) -> dict:
    """POST /<phone_number_id>/media (WhatsApp) or /<page_id>/message_attachments (Messenger): the composer's
    file upload. The file is not kept: the phone shows a media message by its kind and caption."""
    channel = _channel(request, node_id, "post")
    if channel.kind == ChannelKind.WHATSAPP:
        if "file" not in request.FILES or request.POST.get("messaging_product") != "whatsapp":
            raise _invalid("The parameters file and messaging_product are required.")
        return {"id": simulate.media_id()}
    if "filedata" not in request.FILES:
        raise _invalid("The parameter filedata is required.")
    return {"attachment_id": simulate.media_id()}


@_answer("GET")
def graph_node(request: HttpRequest, node_id: str) -> dict:
    """GET /<phone_number_id> (the number's details, as a connection check reads them) or /<page_id>."""
    channel = _channel(request, node_id, "get")
    if channel.kind == ChannelKind.WHATSAPP:
        return simulate.phone_number_info(
            phone_number_id=channel.phone_number_id,
            display_phone_number=services.display_number(channel),
            verified_name=channel.name,
        )
    return {"name": channel.name, "id": channel.page_id}
