"""Meta's webhook endpoints: verify, store raw, enqueue, answer 200. No per-item work here.

Meta retries a webhook that is not answered quickly and disables subscriptions that keep failing, so
the request does only what must be synchronous: the signature check (nothing is stored without a
valid one) and one INSERT of the exact body; a Celery task does the rest.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.conversations.models import Channel, ChannelKind
from apps.conversations.services.inbound import webhook_body_read, webhook_event_store
from apps.meta import signature

logger = logging.getLogger(__name__)

MAX_CHALLENGE = 256


def _channel(kind: str, channel_id: int) -> Channel | None:
    # Only what a POST reads: each secret column is decrypted as it loads, and a POST needs the app secret alone
    # (the handshake's verify token loads on its own when a GET asks for it).
    return Channel.objects.only("id", "merchant_id", "kind", "app_secret").filter(pk=channel_id, kind=kind).first()


def _handshake(request: HttpRequest, channel: Channel) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if (
        mode == "subscribe"
        and channel.verify_token
        and constant_time_compare(token, channel.verify_token)
        and challenge
        and len(challenge) <= MAX_CHALLENGE
    ):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponseForbidden("verification failed", content_type="text/plain")


def webhook_receive(*, channel: Channel, body: bytes, header: str) -> HttpResponse:
    """One signed POST from Meta, as the endpoint answers it. The sandbox (apps/sandbox) hands its simulated
    webhooks here too, so they pass the same signature check and are stored and processed like Meta's."""
    if not header:
        return HttpResponse("missing signature", status=401, content_type="text/plain")
    if not signature.signature_valid(body=body, header=header, secret=channel.app_secret):
        logger.warning("conversations.webhook_bad_signature", extra={"channel_id": channel.pk})
        return HttpResponseForbidden("bad signature", content_type="text/plain")
    data, problem = webhook_body_read(body)
    if data is None:
        # Signed, so Meta's (or someone holding the app secret): kept, answered 200 so Meta neither retries
        # it for days nor disables the subscription, and never processed.
        logger.warning("conversations.webhook_unreadable", extra={"channel_id": channel.pk, "reason": problem})
        webhook_event_store(channel=channel, body=body, ignored_reason=problem)
        return HttpResponse("EVENT_RECEIVED", content_type="text/plain")
    # One autocommitted INSERT (no BEGIN/COMMIT round trips); the callback runs once it is durable.
    event = webhook_event_store(channel=channel, body=body)
    transaction.on_commit(lambda: _enqueue(event.pk))
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def _enqueue(event_id: int) -> None:
    from apps.conversations.tasks import webhook_event_process_task

    try:
        webhook_event_process_task.delay(event_id)
    except Exception:  # broker down: the stored event is requeued by the beat sweep
        logger.exception("conversations.webhook_enqueue_failed", extra={"event_id": event_id})


def _endpoint(kind: str):
    @csrf_exempt
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest, channel_id: int) -> HttpResponse:
        channel = _channel(kind, channel_id)
        if channel is None:
            return HttpResponse("unknown channel", status=404, content_type="text/plain")
        if request.method == "GET":
            return _handshake(request, channel)
        return webhook_receive(channel=channel, body=request.body, header=request.headers.get(signature.HEADER, ""))

    view.__name__ = f"{kind}_webhook"
    return view


whatsapp_webhook = _endpoint(ChannelKind.WHATSAPP)
messenger_webhook = _endpoint(ChannelKind.MESSENGER)
