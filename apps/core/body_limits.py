"""Upload bodies are refused at their limit while they stream in, never read whole first.

A declared `Content-Length` over the limit is refused before a byte is read; a body that declares
less (or nothing) stops being read as soon as its files pass the limit (`StopUpload` with
`connection_reset`, so Django does not drain the rest of the stream either).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from apps.core import inputs

# Room for the multipart boundaries, part headers and the small fields sent beside a file.
MULTIPART_OVERHEAD = 64 * 1024
# view function -> its upload limit, for the ASGI layer (which runs before Django reads the body).
BODY_LIMITS: dict[Callable, int] = {}


class LimitedUploadHandler(FileUploadHandler):
    """Counts the file bytes of one request and stops the upload past `limit`."""

    def __init__(self, request: HttpRequest, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) keeps the file


def _declared_length(request: HttpRequest) -> int:
    return inputs.ascii_int(request.META.get("CONTENT_LENGTH") or "0") or 0


def upload_over_limit(request: HttpRequest, *, limit: int) -> bool:
    """Parse the request's form and files under `limit` bytes of files; True when it was too large.

    Call before anything reads `request.POST` or `request.FILES` (CSRF checks included).
    """
    if _declared_length(request) > limit + MULTIPART_OVERHEAD:
        return True
    if request.content_type != "multipart/form-data":
        return False  # no file to stream (the edge may already have read a small form body)
    handler = LimitedUploadHandler(request, limit=limit)
    request.upload_handlers = [handler, *request.upload_handlers]
    request.POST  # noqa: B018 - parse now, under the limit, so the view sees a complete or no upload
    return handler.exceeded


def limit_text(limit: int) -> str:
    return f"The file is too large; files may be at most {limit // (1024 * 1024)} MB."


def body_limit_register(view: Callable, limit: int) -> Callable:
    """Tell the ASGI layer (`BodyLimitMiddleware`) that requests for `view` carry at most `limit` bytes of files."""
    BODY_LIMITS[view] = limit
    return view


def body_limited(*, limit: int, refuse: Callable[[HttpRequest, str], HttpResponse]):
    """A view whose uploads stop at `limit` bytes; `refuse(request, message)` answers an over-limit one (413)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST" and upload_over_limit(request, limit=limit):
                return refuse(request, limit_text(limit))
            return view(request, *args, **kwargs)

        return body_limit_register(wrapped, limit)

    return decorator


def body_limit_for_path(path: str) -> int | None:
    """The whole-body limit for the view behind `path` (its file limit plus the form around it), if it has one."""
    try:
        view = resolve(path).func
    except Resolver404:
        return None
    limited = inspect.unwrap(view, stop=lambda func: func in BODY_LIMITS)
    return BODY_LIMITS[limited] + MULTIPART_OVERHEAD if limited in BODY_LIMITS else None


class BodyLimitMiddleware:
    """ASGI: Django's ASGI handler spools a whole request body to disk before any view runs, so the
    upload handler above would only stop reading what is already read. This layer refuses a declared
    `Content-Length` over the view's limit before reading, and stops reading a body that passes it
    (413 either way); paths without a registered limit pass untouched."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        limit = body_limit_for_path(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            return await _refuse(send, limit)
        state = {"received": 0, "cut": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["cut"] = True
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def tracked_send(message):
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
        if state["cut"] and not state["started"]:
            await _refuse(send, limit)


async def _refuse(send, limit: int) -> None:
    message = limit_text(limit - MULTIPART_OVERHEAD)
    body = json.dumps({"error": {"code": "too_large", "message": message, "fields": {}}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
