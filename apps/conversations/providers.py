"""Meta Graph API clients (WhatsApp Cloud API, Messenger Send API) and payload builders.

Transient failures (timeouts, connection errors, 5xx, 429, Graph throttling codes) are retried here a
few times with exponential backoff; whatever is still failing comes out as a `ProviderError` whose
`retryable` tells the Celery task whether to try again later or to mark the message failed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from apps.core import inputs, outbound_http

logger = logging.getLogger(__name__)


class _RedactAccessToken(logging.Filter):
    """httpx logs every request URL at INFO; Messenger's Send API carries the page token in the query."""

    pattern = re.compile(r"(access_token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self.pattern.sub(r"\1[redacted]", a) if isinstance(a, str) else
                                self._url(a) for a in record.args)  # fmt: skip
        record.msg = self.pattern.sub(r"\1[redacted]", str(record.msg))
        return True

    def _url(self, value):
        text = str(value)
        return self.pattern.sub(r"\1[redacted]", text) if "access_token=" in text else value


logging.getLogger("httpx").addFilter(_RedactAccessToken())

# Graph error codes worth retrying: throughput (130429), app/user rate limits (4, 17, 32, 613, 80007),
# temporary API errors (1, 2) and WhatsApp's generic "something went wrong" (131000).
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000})
# Codes after which the customer withdrew marketing messages: the consent ledger must learn it.
MARKETING_OPT_OUT_CODES = frozenset({131050})
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    raw: dict | None = None


class ProviderError(Exception):
    def __init__(self, code: int | None, http_status: int, message: str, retryable: bool):
        self.code = code
        self.http_status = http_status
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code or http_status}: {message}")


# Where Meta serves media: Messenger attachment URLs (scontent-*.xx.fbcdn.net, cdn.fbsbx.com) and WhatsApp's
# lookaside.fbsbx.com. The configured Graph host is added because a local fake of the Graph API serves its
# own media (in production it is graph.facebook.com, inside these suffixes anyway).
MEDIA_HOST_SUFFIXES = ("fbcdn.net", "fbsbx.com", "facebook.com")


def media_hosts() -> tuple[str, ...]:
    return (*MEDIA_HOST_SUFFIXES, httpx.URL(settings.META_GRAPH_API_URL).netloc.decode("ascii"))


def media_fetch(url: str, *, headers: dict | None = None) -> tuple[bytes, str]:
    """(content, content type) of Meta-hosted media, through the outbound guard.

    A URL off Meta's hosts, a non-public address on any hop or an oversized answer is a ProviderError that
    is never retried: it comes from the webhook payload, so trying again would only try the attack again.
    """
    try:
        fetched = outbound_http.fetch(url, host_suffixes=media_hosts(), headers=headers)
    except outbound_http.OutboundError as exc:
        raise ProviderError(None, 0, str(exc), exc.retryable) from None
    if not 200 <= fetched.status_code < 300:
        answer = httpx.Response(fetched.status_code, headers=fetched.headers, content=fetched.content)
        raise error_from_response(answer)
    return fetched.content, fetched.content_type


def graph_url(*parts: str) -> str:
    return "/".join([settings.META_GRAPH_API_URL.rstrip("/"), *(p.strip("/") for p in parts)])


def error_from_response(response: httpx.Response) -> ProviderError:
    try:
        body = response.json()
    except ValueError:  # an HTML error page from a proxy in front of the Graph API
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = str(error.get("message") or response.reason_phrase or "provider error")[:500]
    retryable = response.status_code >= 500 or response.status_code == 429 or code in RETRYABLE_CODES
    return ProviderError(code, response.status_code, message, retryable)


_shared: dict[int, httpx.Client] = {}


def shared_http() -> httpx.Client:
    """One keep-alive pool per process (a prefork worker child gets its own: sockets must not cross a fork)."""
    pid = os.getpid()
    client = _shared.get(pid)
    if client is None:
        client = _shared[pid] = httpx.Client(timeout=DEFAULT_TIMEOUT, limits=httpx.Limits(max_connections=20))
    return client


class _Borrowed:
    """Context manager that hands out the shared client without closing it on exit."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def __enter__(self) -> httpx.Client:
        return self.client

    def __exit__(self, *exc) -> None:
        return None


class GraphClient:
    """Base: one POST with bounded retries on transient failures."""

    def __init__(self, channel, *, attempts: int | None = None, backoff: float | None = None, http=None):
        self.channel = channel
        self.attempts = attempts or settings.CONVERSATIONS_SEND_ATTEMPTS
        self.backoff = backoff if backoff is not None else settings.CONVERSATIONS_SEND_BACKOFF
        self._http = http

    def send(self, payload: dict) -> SendResult:
        return self._retrying(lambda: self._parse(self._post(payload)))

    def upload(self, *, content: bytes, filename: str, mime_type: str, media_type: str) -> str:
        """Hand a file to Meta once; the id it answers is what a media message refers to."""
        return self._retrying(lambda: self._parse_upload(self._post_upload(content, filename, mime_type, media_type)))

    def _retrying(self, call):
        last: ProviderError | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            try:
                return call()
            except ProviderError as exc:
                last = exc
                logger.info(
                    "provider.send_error",
                    extra={
                        "channel_id": self.channel.pk,
                        "code": exc.code,
                        "http_status": exc.http_status,
                        "attempt": attempt + 1,
                    },
                )
                if not exc.retryable:
                    raise
        assert last is not None
        raise last

    def _post(self, payload: dict) -> httpx.Response:
        return self._request(self.url(), json=payload)

    def _post_upload(self, content: bytes, filename: str, mime_type: str, media_type: str) -> httpx.Response:
        raise NotImplementedError

    def _parse_upload(self, response: httpx.Response) -> str:
        raise NotImplementedError

    def _request(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            with self._client() as client:
                response = client.post(url, **kwargs, **self.request_kwargs())
        except httpx.TimeoutException as exc:
            raise ProviderError(None, 0, f"timeout: {exc.__class__.__name__}", True) from None
        except httpx.HTTPError as exc:
            raise ProviderError(None, 0, f"connection error: {exc.__class__.__name__}", True) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _client(self) -> httpx.Client:
        return _Borrowed(self._http or shared_http())

    def url(self) -> str:
        raise NotImplementedError

    def request_kwargs(self) -> dict:
        return {}

    def _parse(self, response: httpx.Response) -> SendResult:
        raise NotImplementedError


class WhatsAppClient(GraphClient):
    def url(self) -> str:
        return graph_url(self.channel.phone_number_id, "messages")

    def request_kwargs(self) -> dict:
        return {"headers": {"Authorization": f"Bearer {self.channel.access_token}"}}

    def _parse(self, response: httpx.Response) -> SendResult:
        data = _json(response)
        try:
            return SendResult(str(data["messages"][0]["id"]), data)
        except (KeyError, IndexError, TypeError):
            raise ProviderError(None, response.status_code, "answer without a message id", False) from None

    def _post_upload(self, content: bytes, filename: str, mime_type: str, media_type: str) -> httpx.Response:
        # POST /{phone_number_id}/media, multipart: the file, its MIME type and the product.
        return self._request(
            graph_url(self.channel.phone_number_id, "media"),
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename or "file", content, mime_type)},
        )

    def _parse_upload(self, response: httpx.Response) -> str:
        media_id = _json(response).get("id")
        if not media_id:
            raise ProviderError(None, response.status_code, "upload answer without a media id", False)
        return str(media_id)

    def media_url(self, media_id: str) -> dict:
        """GET {graph}/{media_id} -> {"url", "mime_type", "sha256", "file_size"}."""
        return _json(self._get(graph_url(media_id)))

    def media_download(self, url: str) -> bytes:
        """The file behind the URL `media_url` answered, fetched through the outbound guard with our token."""
        return media_fetch(url, headers=self.request_kwargs().get("headers"))[0]

    def _get(self, url: str) -> httpx.Response:
        try:
            with self._client() as client:
                response = client.get(url, **self.request_kwargs())
        except httpx.HTTPError as exc:
            raise ProviderError(None, 0, f"connection error: {exc.__class__.__name__}", True) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response


class MessengerClient(GraphClient):
    def url(self) -> str:
        return graph_url(self.channel.page_id, "messages")

    def request_kwargs(self) -> dict:
        return {"params": {"access_token": self.channel.access_token}}

    def profile_name(self, psid: str, *, timeout: float = 3.0) -> str:
        """The person's "first last" from the User Profile API; one short attempt (it runs while an inbound
        message is being stored, and a missing name is not worth holding that up)."""
        try:
            with self._client() as client:
                response = client.get(
                    graph_url(psid),
                    params={"fields": "first_name,last_name", "access_token": self.channel.access_token},
                    timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
                )
        except httpx.HTTPError as exc:
            raise ProviderError(None, 0, f"connection error: {exc.__class__.__name__}", True) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        data = _json(response)
        return " ".join(str(data.get(k) or "").strip() for k in ("first_name", "last_name")).strip()[:200]

    def _post_upload(self, content: bytes, filename: str, mime_type: str, media_type: str) -> httpx.Response:
        # POST /{page_id}/message_attachments: the attachment description as a JSON form field + `filedata`.
        message = {"attachment": {"type": media_type, "payload": {"is_reusable": True}}}
        return self._request(
            graph_url(self.channel.page_id, "message_attachments"),
            data={"message": json.dumps(message)},
            files={"filedata": (filename or "file", content, mime_type)},
        )

    def _parse_upload(self, response: httpx.Response) -> str:
        attachment_id = _json(response).get("attachment_id")
        if not attachment_id:
            raise ProviderError(None, response.status_code, "upload answer without an attachment id", False)
        return str(attachment_id)

    def _parse(self, response: httpx.Response) -> SendResult:
        data = _json(response)
        if not data.get("message_id"):
            raise ProviderError(None, response.status_code, "answer without a message id", False)
        return SendResult(str(data["message_id"]), data)


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise ProviderError(None, response.status_code, "answer is not JSON", False) from None
    return data if isinstance(data, dict) else {}


def get_client(channel, **kwargs: Any) -> GraphClient:
    if channel.kind == "whatsapp":
        return WhatsAppClient(channel, **kwargs)
    if channel.kind == "messenger":
        return MessengerClient(channel, **kwargs)
    raise ValueError(f"no provider client for {channel.kind} channels (web chat is delivered over the socket)")


# --------------------------------------------------------------------------- payload builders
def whatsapp_addressee(address: str) -> dict[str, str]:
    """The body fields that name the person: a number (a wa_id, or an E.164 phone) goes in `to`; a
    business-scoped user id (`US.1349…`, never a number) goes in `recipient`, and `to` is left out,
    since Meta lets `to` win when both are present."""
    address = str(address)
    return {"to": address} if inputs.is_ascii_digits(address.removeprefix("+")) else {"recipient": address}


def whatsapp_text_payload(to: str, text: str) -> dict:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **whatsapp_addressee(to),
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }


def _template_parameters(params: dict | list | None) -> list[dict]:
    if not params:
        return []
    if isinstance(params, dict):
        # Named templates ({{first_name}}) take parameter_name; order follows the dict.
        return [{"type": "text", "parameter_name": str(k), "text": str(v)} for k, v in params.items()]
    return [{"type": "text", "text": str(v)} for v in params]


def whatsapp_template_payload(
    to: str, template_name: str, language: str, params: dict | list | None, opaque: str | None = None
) -> dict:
    template: dict[str, Any] = {"name": template_name, "language": {"code": language}}
    parameters = _template_parameters(params)
    if parameters:
        template["components"] = [{"type": "body", "parameters": parameters}]
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **whatsapp_addressee(to),
        "type": "template",
        "template": template,
    }
    if opaque:
        payload["biz_opaque_callback_data"] = str(opaque)[:512]
    return payload


def messenger_text_payload(psid: str, text: str, messaging_type: str = "RESPONSE", tag: str | None = None) -> dict:
    payload: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": {"text": text}}
    if tag:
        payload["tag"] = tag
    return payload


# WhatsApp sends images as JPEG/PNG only; other image types still reach the customer as a document.
WHATSAPP_IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
CAPTION_TYPES = frozenset({"image", "video", "document"})  # WhatsApp refuses a caption on audio
MESSENGER_TYPES = {"image": "image", "audio": "audio", "video": "video", "document": "file"}


def whatsapp_media_type(media_type: str, mime_type: str) -> str:
    if media_type == "image" and mime_type not in WHATSAPP_IMAGE_TYPES:
        return "document"
    return media_type if media_type in ("image", "audio", "video", "document") else "document"


def messenger_media_type(media_type: str) -> str:
    return MESSENGER_TYPES.get(media_type, "file")


def whatsapp_media_payload(to: str, media_type: str, media_id: str, caption: str = "", filename: str = "") -> dict:
    media: dict[str, Any] = {"id": media_id}
    if caption and media_type in CAPTION_TYPES:
        media["caption"] = caption
    if filename and media_type == "document":
        media["filename"] = filename
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **whatsapp_addressee(to),
        "type": media_type,
        media_type: media,
    }


def messenger_attachment_payload(
    psid: str, media_type: str, attachment_id: str, messaging_type: str = "RESPONSE", tag: str | None = None
) -> dict:
    payload: dict[str, Any] = {
        "recipient": {"id": psid},
        "messaging_type": messaging_type,
        "message": {"attachment": {"type": media_type, "payload": {"attachment_id": attachment_id}}},
    }
    if tag:
        payload["tag"] = tag
    return payload
