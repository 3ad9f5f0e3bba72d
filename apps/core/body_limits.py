"""Upload bodies are refused at their limit while they stream in, never read whole first.

A declared `Content-Length` over the limit is refused before a byte is read; a body that declares
less (or nothing) stops being read as soon as its files pass the limit (`StopUpload` with
`connection_reset`, so Django does not drain the rest of the stream either).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse

# Room for the multipart boundaries, part headers and the small fields sent beside a file.
MULTIPART_OVERHEAD = 64 * 1024


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
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def upload_over_limit(request: HttpRequest, *, limit: int) -> bool:
    """Parse the request's form and files under `limit` bytes of files; True when it was too large.

    Call before anything reads `request.POST` or `request.FILES` (CSRF checks included).
    """
    if _declared_length(request) > limit + MULTIPART_OVERHEAD:
        return True
    handler = LimitedUploadHandler(request, limit=limit)
    request.upload_handlers = [handler, *request.upload_handlers]
    request.POST  # noqa: B018 - parse now, under the limit, so the view sees a complete or no upload
    return handler.exceeded


def limit_text(limit: int) -> str:
    return f"The file is too large; files may be at most {limit // (1024 * 1024)} MB."


def body_limited(*, limit: int, refuse: Callable[[HttpRequest, str], HttpResponse]):
    """A view whose uploads stop at `limit` bytes; `refuse(request, message)` answers an over-limit one (413)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST" and upload_over_limit(request, limit=limit):
                return refuse(request, limit_text(limit))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
