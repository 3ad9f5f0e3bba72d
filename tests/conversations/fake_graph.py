"""A fake Meta Graph API: a real local HTTP server speaking the documented send and media formats.

Use the `fake_graph` fixture (tests/conversations/conftest.py re-exports it; other test packages can
`from tests.conversations.fake_graph import fake_graph` into their conftest). It points
settings.META_GRAPH_API_URL at the server and removes the client's backoff sleeps.

    fake_graph.queue(500, {...})          # next POST answers this (FIFO), then back to success
    fake_graph.fail_for["34600111222"] = 131047   # every send to this number (or user id) fails with this code
    fake_graph.media["123"] = (b"...", "image/jpeg")
    fake_graph.profiles["<psid>"] = {"first_name": "Ana", "last_name": "López"}   # Messenger User Profile API
    fake_graph.sent -> [{"path", "query", "auth", "body"}]
    fake_graph.uploads -> [{"path", "query", "auth", "fields": {name: text}, "files": {name: (filename, mime, bytes)}}]
        (POST {phone_number_id}/media answers {"id"}; POST {page_id}/message_attachments {"attachment_id"})
"""

from __future__ import annotations

import json
import secrets
import threading
from email import policy as email_policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

VERSION = "v21.0"


def graph_error(code: int, message: str = "fake failure") -> dict:
    return {
        "error": {"message": message, "type": "OAuthException", "code": code, "error_subcode": 0, "fbtrace_id": "FAKE"}
    }


class FakeGraph:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.uploads: list[dict] = []
        self.gets: list[dict] = []
        self.lock = threading.Lock()
        self.responses: list[tuple[int, dict | bytes]] = []
        self.fail_for: dict[str, int] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.profiles: dict[str, dict] = {}  # Messenger PSID -> {"first_name", "last_name"}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/{VERSION}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def queue(self, status: int, body: dict | bytes) -> None:
        with self.lock:
            self.responses.append((status, body))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next(self, body: dict) -> tuple[int, dict | bytes]:
        with self.lock:
            if self.responses:
                return self.responses.pop(0)
        if "messaging_product" in body:
            return self._whatsapp(body)
        to = str((body.get("recipient") or {}).get("id") or "")
        if to in self.fail_for:
            return 400, graph_error(self.fail_for[to])
        return 200, {"recipient_id": to, "message_id": "m_FAKE" + secrets.token_hex(12)}

    def _whatsapp(self, body: dict) -> tuple[int, dict]:
        """`to` (a number) wins over `recipient` (a business-scoped user id), as Meta documents; the answer
        names the contact by `wa_id` for a number and by `user_id` for a user id."""
        to, user_id = str(body.get("to") or "").lstrip("+"), body.get("recipient")
        if not to and not isinstance(user_id, str):
            return 400, graph_error(100, "(#100) The parameter to is required.")
        address = to or user_id
        if address in self.fail_for:
            return 400, graph_error(self.fail_for[address])
        contact = {"input": address, "wa_id": to} if to else {"input": address, "user_id": user_id}
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": "wamid.FAKE" + secrets.token_hex(12)}],
        }

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                    return self._upload(raw)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                parts = urlsplit(self.path)
                record = {
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "auth": self.headers.get("Authorization", ""),
                    "body": body,
                }
                with outer.lock:
                    outer.sent.append(record)
                self._answer(*outer._next(body))

            def _upload(self, raw: bytes):
                parts = urlsplit(self.path)
                fields, files = _multipart(self.headers["Content-Type"], raw)
                with outer.lock:
                    outer.uploads.append(
                        {
                            "path": parts.path,
                            "query": parse_qs(parts.query),
                            "auth": self.headers.get("Authorization", ""),
                            "fields": fields,
                            "files": files,
                        }
                    )
                    queued = outer.responses.pop(0) if outer.responses else None
                if queued:
                    return self._answer(*queued)
                if parts.path.endswith("/media") and files.get("file") and fields.get("messaging_product"):
                    return self._answer(200, {"id": "FAKEMEDIA" + secrets.token_hex(6)})
                if parts.path.endswith("/message_attachments") and files.get("filedata") and fields.get("message"):
                    return self._answer(200, {"attachment_id": "FAKEATT" + secrets.token_hex(6)})
                return self._answer(400, graph_error(100, "Invalid upload"))

            def do_GET(self):
                parts = urlsplit(self.path)
                with outer.lock:
                    outer.gets.append(
                        {
                            "path": parts.path,
                            "query": parse_qs(parts.query),
                            "auth": self.headers.get("Authorization", ""),
                        }
                    )
                    queued = outer.responses.pop(0) if outer.responses else None
                if queued:
                    return self._answer(*queued)
                segments = parts.path.strip("/").split("/")
                if segments[0] == "download" and segments[-1] in outer.media:
                    content, mime = outer.media[segments[-1]]
                    return self._raw(200, content, mime)
                media_id = segments[-1]
                if media_id in outer.profiles:
                    return self._answer(200, {**outer.profiles[media_id], "id": media_id})
                if media_id in outer.media:
                    content, mime = outer.media[media_id]
                    return self._answer(
                        200,
                        {
                            "url": f"{outer.base}/download/{media_id}",
                            "mime_type": mime,
                            "file_size": len(content),
                            "id": media_id,
                            "messaging_product": "whatsapp",
                        },
                    )
                return self._answer(404, graph_error(100, "Unsupported get request"))

            def _answer(self, status, obj):
                if isinstance(obj, bytes):
                    return self._raw(status, obj, "application/octet-stream")
                return self._raw(status, json.dumps(obj).encode(), "application/json")

            def _raw(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _multipart(content_type: str, raw: bytes) -> tuple[dict, dict]:
    """(fields, files) of a multipart/form-data body, parsed the way a real server would."""
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode()
    return fields, files


@pytest.fixture
def fake_graph(settings):
    graph = FakeGraph()
    settings.META_GRAPH_API_URL = graph.url
    settings.CHARLA_OUTBOUND_ALLOW_PRIVATE = True  # the fake serves its media over http on 127.0.0.1
    settings.CONVERSATIONS_SEND_BACKOFF = 0
    yield graph
    graph.close()
