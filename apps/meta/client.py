"""Synchronous Graph API clients (WhatsApp Cloud API, Messenger Send API) on plain values.

Transient failures (timeouts, connection errors, and whatever `errors.outcome_for` calls resendable)
are retried here a few times with exponential backoff; whatever is still failing comes out as a
`GraphError` whose `outcome` tells the caller whether to try again later, revoke consent or fail.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from django.conf import settings

from apps.core import outbound_http
from apps.meta.errors import FAIL, RETRY, GraphError, error_fields, outcome_for

logger = logging.getLogger(__name__)
T = TypeVar("T")


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

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

# Where Meta serves media: Messenger attachment URLs (scontent-*.xx.fbcdn.net, cdn.fbsbx.com) and WhatsApp's
# lookaside.fbsbx.com. The configured Graph host is added because a local fake of the Graph API serves its
# own media (in production it is graph.facebook.com, inside these suffixes anyway).
MEDIA_HOST_SUFFIXES = ("fbcdn.net", "fbsbx.com", "facebook.com")


@dataclass(frozen=True)
class SendResult:
    """Meta's id for an accepted message, and the answer it came in."""

    provider_message_id: str
    raw: dict | None = None


def media_hosts(base_url: str | None = None) -> tuple[str, ...]:
    base_url = base_url or settings.META_GRAPH_API_URL
    return (*MEDIA_HOST_SUFFIXES, httpx.URL(base_url).netloc.decode("ascii"))


def media_fetch(url: str, *, headers: dict | None = None, base_url: str | None = None) -> tuple[bytes, str]:
    """(content, content type) of Meta-hosted media, through the outbound guard.

    A URL off Meta's hosts, a non-public address on any hop or an oversized answer is a GraphError that
    is never retried: it comes from the webhook payload, so trying again would only try the attack again.
    """
    try:
        fetched = outbound_http.fetch(url, host_suffixes=media_hosts(base_url), headers=headers)
    except outbound_http.OutboundError as exc:
        raise GraphError(None, 0, str(exc), RETRY if exc.retryable else FAIL) from None
    if not 200 <= fetched.status_code < 300:
        answer = httpx.Response(fetched.status_code, headers=fetched.headers, content=fetched.content)
        raise error_from_response(answer)
    return fetched.content, fetched.content_type


def error_from_response(response: httpx.Response) -> GraphError:
    try:
        body = response.json()
    except ValueError:  # an HTML error page from a proxy in front of the Graph API
        body = {}
    code, message = error_fields(body, response.status_code, response.reason_phrase or "provider error")
    return GraphError(code, response.status_code, message, outcome_for(http_status=response.status_code, code=code))


def transport_error(exc: httpx.HTTPError) -> GraphError:
    """No answer at all: the request may be sent again (Graph sends are keyed by our own message row)."""
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
    return GraphError(None, 0, f"{kind}: {exc.__class__.__name__}", outcome_for(http_status=0))


_shared: dict[int, httpx.Client] = {}


def shared_http() -> httpx.Client:
    """One keep-alive pool per process (a prefork worker child gets its own: sockets must not cross a fork)."""
    pid = os.getpid()
    client = _shared.get(pid)
    if client is None:
        client = _shared[pid] = httpx.Client(timeout=DEFAULT_TIMEOUT, limits=httpx.Limits(max_connections=20))
    return client


class GraphClient:
    """Base: one POST with bounded retries on transient failures."""

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str,
        attempts: int = 3,
        backoff: float = 0.5,
        http: httpx.Client | None = None,
        log_extra: dict | None = None,
    ):
        self.access_token = access_token
        self.base_url = base_url.rstrip("/")
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._http = http
        self.log_extra = log_extra or {}

    def url_for(self, *parts: str) -> str:
        return "/".join([self.base_url, *(str(p).strip("/") for p in parts)])

    def send(self, payload: dict) -> SendResult:
        return self._retrying(lambda: self._parse(self._request(self.url(), json=payload)))

    def upload(self, *, content: bytes, filename: str, mime_type: str, media_type: str) -> str:
        """Hand a file to Meta once; the id it answers is what a media message refers to."""
        return self._retrying(lambda: self._parse_upload(self._post_upload(content, filename, mime_type, media_type)))

    def _retrying(self, call: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            try:
                return call()
            except GraphError as exc:
                extra = {**self.log_extra, "code": exc.code, "http_status": exc.http_status, "attempt": attempt + 1}
                logger.info("provider.send_error", extra=extra)
                if not exc.retryable or attempt + 1 == self.attempts:
                    raise
        raise AssertionError("unreachable: the last attempt raises")

    def _request(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._call("post", url, **kwargs, **self.request_kwargs())

    def _get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._call("get", url, **kwargs)

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = getattr(self._http or shared_http(), method)(url, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def sender_info(self, *, timeout: float = 5.0) -> dict:
        """Meta's description of the sender this client sends as (a check that the ids and token work):
        one short attempt, since a person waits on the answer."""
        fields = ",".join(self.SENDER_FIELDS)
        response = self._get(
            self.url_for(self.sender_id()),
            params={"fields": fields, **self.request_kwargs().get("params", {})},
            headers=self.request_kwargs().get("headers"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        )
        data = _json(response)
        return {name: str(data.get(name) or "") for name in self.SENDER_FIELDS}

    SENDER_FIELDS: tuple[str, ...] = ()

    def sender_id(self) -> str:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def request_kwargs(self) -> dict:
        return {}

    def _parse(self, response: httpx.Response) -> SendResult:
        raise NotImplementedError

    def _post_upload(self, content: bytes, filename: str, mime_type: str, media_type: str) -> httpx.Response:
        raise NotImplementedError

    def _parse_upload(self, response: httpx.Response) -> str:
        raise NotImplementedError


class WhatsAppClient(GraphClient):
    # GET /{phone_number_id}: the WhatsApp Business phone number node.
    SENDER_FIELDS = ("display_phone_number", "verified_name", "quality_rating")

    def __init__(self, *, phone_number_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.phone_number_id = phone_number_id

    def sender_id(self) -> str:
        return self.phone_number_id

    def url(self) -> str:
        return self.url_for(self.phone_number_id, "messages")

    def request_kwargs(self) -> dict:
        return {"headers": {"Authorization": f"Bearer {self.access_token}"}}

    def _parse(self, response: httpx.Response) -> SendResult:
        data = _json(response)
        try:
            return SendResult(str(data["messages"][0]["id"]), data)
        except (KeyError, IndexError, TypeError):
            raise GraphError(None, response.status_code, "answer without a message id", FAIL) from None

    def _post_upload(self, content: bytes, filename: str, mime_type: str, media_type: str) -> httpx.Response:
        # POST /{phone_number_id}/media, multipart: the file, its MIME type and the product.
        return self._request(
            self.url_for(self.phone_number_id, "media"),
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename or "file", content, mime_type)},
        )

    def _parse_upload(self, response: httpx.Response) -> str:
        media_id = _json(response).get("id")
        if not media_id:
            raise GraphError(None, response.status_code, "upload answer without a media id", FAIL)
        return str(media_id)

    def media_url(self, media_id: str) -> dict:
        """GET {graph}/{media_id} -> {"url", "mime_type", "sha256", "file_size"}."""
        return _json(self._get(self.url_for(media_id), **self.request_kwargs()))

    def media_download(self, url: str) -> bytes:
        """The file behind the URL `media_url` answered, fetched through the outbound guard with our token."""
        return media_fetch(url, headers=self.request_kwargs()["headers"], base_url=self.base_url)[0]


class MessengerClient(GraphClient):
    SENDER_FIELDS = ("name",)  # GET /{page_id}: the Page node

    def __init__(self, *, page_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.page_id = page_id

    def sender_id(self) -> str:
        return self.page_id

    def url(self) -> str:
        return self.url_for(self.page_id, "messages")

    def request_kwargs(self) -> dict:
        return {"params": {"access_token": self.access_token}}

    def profile_name(self, psid: str, *, timeout: float = 3.0) -> str:
        """The person's "first last" from the User Profile API; one short attempt (it runs while an inbound
        message is being stored, and a missing name is not worth holding that up)."""
        response = self._get(
            self.url_for(psid),
            params={"fields": "first_name,last_name", "access_token": self.access_token},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
        )
        data = _json(response)
        return " ".join(str(data.get(k) or "").strip() for k in ("first_name", "last_name")).strip()[:200]

    def _post_upload(self, content: bytes, filename: str, mime_type: str, media_type: str) -> httpx.Response:
        # POST /{page_id}/message_attachments: the attachment description as a JSON form field + `filedata`.
        message = {"attachment": {"type": media_type, "payload": {"is_reusable": True}}}
        return self._request(
            self.url_for(self.page_id, "message_attachments"),
            data={"message": json.dumps(message)},
            files={"filedata": (filename or "file", content, mime_type)},
        )

    def _parse_upload(self, response: httpx.Response) -> str:
        attachment_id = _json(response).get("attachment_id")
        if not attachment_id:
            raise GraphError(None, response.status_code, "upload answer without an attachment id", FAIL)
        return str(attachment_id)

    def _parse(self, response: httpx.Response) -> SendResult:
        data = _json(response)
        if not data.get("message_id"):
            raise GraphError(None, response.status_code, "answer without a message id", FAIL)
        return SendResult(str(data["message_id"]), data)


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise GraphError(None, response.status_code, "answer is not JSON", FAIL) from None
    return data if isinstance(data, dict) else {}
