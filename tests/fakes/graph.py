"""The one fake Meta Graph API: a real local HTTP server (aiohttp on loopback) speaking Meta's documented formats.

It serves the synchronous sender, the campaigns' async batch sender and a real Celery worker subprocess
alike. The `fake_graph` fixture (registered from tests/conftest.py) points settings.META_GRAPH_API_URL at it.

Endpoints: POST /{phone_number_id}/messages (WhatsApp; `to` wins over `recipient`, as Meta documents) and
/me/messages (Messenger) send; POST /{phone_number_id}/media and /{page_id}/message_attachments upload;
GET /{media_id} (metadata with a download url), /download/{media_id} (the bytes), /{psid} (profile),
/{phone_number_id} and /{page_id} (the sender node: `fake.nodes`, answered only for the node's own token).

Knobs, per test:
    fake.queue(500, {...})                  # the next request answers this (FIFO), then back to normal
    fake.queue_drop(mid_body=False)         # the next request gets its connection closed (or reset mid-body)
    fake.errors["34600111222"] = 131047     # every send to this number / user id / PSID fails with this code
    fake.errors_once["34600111222"] = 2     # only the next send to it does
    fake.latency = 0.2 or (0.1, 0.3)        # seconds before each answer (default 0)
    fake.weather = Weather(...)             # Meta under load: latency, a share of 5xx and of dropped answers
    fake.hold_after = n; fake.release()     # from the n-th send on, answers wait until released
    fake.status_hook = StatusHook(url, app_secret, phone_number_id, statuses=("sent", "delivered", "read"))
    fake.media["123"] = (b"...", "image/jpeg"); fake.profiles["<psid>"] = {"first_name": ..., "last_name": ...}
    fake.nodes["<phone_number_id>"] = ("<token>", {"verified_name": ..., ...})  # another token: code 190
Records: `sent` ({"path", "query", "auth", "body"} per JSON POST), `uploads`, `gets`, `log` (fates),
`accepted` ({"to", "wamid", "opaque", "body"}), `per_recipient()`, `in_flight`, `max_in_flight`,
`webhooks_posted`, `webhook_failures`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

VERSION = "v21.0"
THROUGHPUT = 130429
ACCEPTED, REFUSED_5XX, DROPPED, ACCEPTED_THEN_DROPPED = "accepted", "5xx", "dropped", "accepted_then_dropped"


def graph_error(code: int, message: str = "", subcode: int = 0, title: str = "") -> dict:
    """Meta's error body: https://developers.facebook.com/docs/graph-api/guides/error-handling."""
    return {
        "error": {
            "message": message or f"fake {code}",
            "type": "OAuthException",
            "code": code,
            "error_subcode": subcode,
            "error_user_title": title,
            "fbtrace_id": "FAKE",
        }
    }


@dataclass
class Weather:
    """How the fake behaves under load; every fate is drawn from one seeded generator."""

    latency: tuple[float, float] = (0.1, 0.3)
    per_in_flight: float = 0.01  # extra seconds per request already in flight: slower under load
    error_rate: float = 0.05  # 503 with Graph code 2: Meta did not take it
    drop_rate: float = 0.06  # socket closed without an answer; half of them after accepting
    seed: int = 7


@dataclass
class StatusHook:
    """Where the fake posts statuses for accepted messages, signed as Meta signs (X-Hub-Signature-256)."""

    url: str
    app_secret: str
    phone_number_id: str
    statuses: tuple[str, ...] = ("sent",)


class FakeGraph:
    def __init__(
        self,
        latency: float | tuple[float, float] = 0.0,
        weather: Weather | None = None,
        status_hook: StatusHook | None = None,
    ) -> None:
        self.latency, self.weather, self.status_hook = latency, weather, status_hook
        self.random = random.Random(weather.seed if weather else 0)
        self.hold_after: int | None = None
        self.errors: dict[str, int] = {}
        self.errors_once: dict[str, int] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.profiles: dict[str, dict] = {}
        self.nodes: dict[str, tuple[str, dict]] = {}
        self.responses: list[tuple[int | None, dict | bytes | bool]] = []  # None: drop; the bool says mid-body
        self.sent: list[dict] = []
        self.uploads: list[dict] = []
        self.gets: list[dict] = []
        self.log: list[dict] = []
        self.accepted: list[dict] = []
        self.webhooks_posted = 0
        self.webhook_failures: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.ready.wait(10)
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/{VERSION}"

    # ------------------------------------------------------------------ knobs
    def queue(self, status: int, body: dict | bytes) -> None:
        with self.lock:
            self.responses.append((status, body))

    def queue_drop(self, mid_body: bool = False) -> None:
        with self.lock:
            self.responses.append((None, mid_body))

    def release(self) -> None:
        """Answer every held request (and the later ones at once)."""
        self.loop.call_soon_threadsafe(self.released.set)

    @property
    def requests(self) -> list[dict]:
        """Every send body, accepted or not."""
        with self.lock:
            return [record["body"] for record in self.sent]

    def per_recipient(self) -> Counter:
        with self.lock:
            return Counter(item["to"] for item in self.accepted)

    # ------------------------------------------------------------------ server
    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._post)
        app.router.add_get("/download/{media_id}", self._download)
        app.router.add_get("/{tail:.*}", self._get)
        self.runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.loop.run_until_complete(self._open())
        self.ready.set()
        self.loop.run_forever()

    async def _open(self) -> None:
        self.hooks = aiohttp.ClientSession()
        self.released = asyncio.Event()

    def _queued(self) -> tuple[int | None, dict | bytes | bool] | None:
        with self.lock:
            return self.responses.pop(0) if self.responses else None

    @staticmethod
    def _record(request: web.Request, **extra) -> dict:
        return {
            "path": request.path,
            "query": _query(request),
            "auth": request.headers.get("Authorization", ""),
            **extra,
        }

    def _fate(self) -> str:
        if self.weather is None:
            return ACCEPTED
        draw, weather = self.random.random(), self.weather
        if draw < weather.error_rate:
            return REFUSED_5XX
        if draw < weather.error_rate + weather.drop_rate / 2:
            return DROPPED
        if draw < weather.error_rate + weather.drop_rate:
            return ACCEPTED_THEN_DROPPED
        return ACCEPTED

    def _pause(self) -> float:
        if self.weather is not None:
            low, high = self.weather.latency
            return self.random.uniform(low, high) + self.weather.per_in_flight * self.in_flight
        if isinstance(self.latency, tuple):
            return self.random.uniform(*self.latency)
        return self.latency

    async def _post(self, request: web.Request) -> web.StreamResponse:
        if request.content_type == "multipart/form-data":
            return await self._upload(request)
        return await self._messages(request)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        whatsapp = "messaging_product" in body
        to = _addressee(body, whatsapp)
        opaque = body.get("biz_opaque_callback_data") if whatsapp else None
        with self.lock:
            self.sent.append(self._record(request, body=body))
            queued = self.responses.pop(0) if self.responses else None
            code = (self.errors_once.pop(to, None) or self.errors.get(to)) if to else 100  # 100: no addressee
            fate = self._fate() if not code and queued is None else REFUSED_5XX
            held = self.hold_after is not None and len(self.sent) > self.hold_after
            self.log.append({"to": to, "opaque": opaque, "at": time.time(), "fate": code or fate})
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            pause = self._pause()
        accepted = queued is None and not code and fate in (ACCEPTED, ACCEPTED_THEN_DROPPED)
        message_id = self._accept(to, opaque, body, whatsapp) if accepted else ""
        await self._wait(pause, held)
        if queued is not None:
            return await self._answer_queued(request, queued)
        if code:
            return _error(code, "(#100) The parameter to is required." if not to else "")
        if fate == REFUSED_5XX:
            return web.json_response(graph_error(2), status=503)
        if fate in (DROPPED, ACCEPTED_THEN_DROPPED):
            return _drop(request)
        return web.json_response(_sent_body(body, to, message_id, whatsapp))

    async def _wait(self, pause: float, held: bool) -> None:
        try:
            if pause:
                await asyncio.sleep(pause)
            if held:
                await asyncio.wait_for(self.released.wait(), 120)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _accept(self, to: str, opaque, body: dict, whatsapp: bool) -> str:
        message_id = ("wamid.FAKE" if whatsapp else "m_FAKE") + secrets.token_hex(12)
        with self.lock:
            self.accepted.append({"to": to, "wamid": message_id, "opaque": opaque, "body": body})
        if self.status_hook is not None and whatsapp:
            self.loop.create_task(self._post_statuses(to, message_id, opaque))
        return message_id

    async def _answer_queued(self, request: web.Request, queued) -> web.StreamResponse:
        status, body = queued
        if status is None:
            return await _reset_mid_body(request) if body else _drop(request)
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, content_type="application/octet-stream")
        return web.json_response(body, status=status)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        fields, files = {}, {}
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = (value.filename, value.content_type, value.file.read())
            else:
                fields[name] = value
        with self.lock:
            self.uploads.append(self._record(request, fields=fields, files=files))
        queued = self._queued()
        if queued is not None:
            return await self._answer_queued(request, queued)
        if request.path.endswith("/media") and files.get("file") and fields.get("messaging_product"):
            return web.json_response({"id": "FAKEMEDIA" + secrets.token_hex(6)})
        if request.path.endswith("/message_attachments") and files.get("filedata") and fields.get("message"):
            return web.json_response({"attachment_id": "FAKEATT" + secrets.token_hex(6)})
        return web.json_response(graph_error(100, "Invalid upload"), status=400)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            self.gets.append(self._record(request))
        queued = self._queued()
        if queued is not None:
            return await self._answer_queued(request, queued)
        media_id = request.match_info["media_id"]
        if media_id not in self.media:
            return web.json_response(graph_error(100, "Unsupported get request"), status=404)
        content, mime = self.media[media_id]
        return web.Response(body=content, content_type=mime)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            self.gets.append(self._record(request))
        queued = self._queued()
        if queued is not None:
            return await self._answer_queued(request, queued)
        node = request.path.strip("/").split("/")[-1]
        if node in self.nodes:
            with self.lock:
                pause = self._pause()
            if pause:  # the latency knob (a timeout test sets it above the caller's timeout)
                await asyncio.sleep(pause)
            return _node(request, node, *self.nodes[node])
        if node in self.profiles:
            return web.json_response({**self.profiles[node], "id": node})
        if node in self.media:
            content, mime = self.media[node]
            url = f"{self.base}/download/{node}"
            meta = {"url": url, "mime_type": mime, "file_size": len(content), "id": node}
            return web.json_response({**meta, "messaging_product": "whatsapp"})
        return web.json_response(graph_error(100, "Unsupported get request"), status=404)

    # ------------------------------------------------------------------ status webhooks
    def status_payload(self, to: str, wamid: str, opaque, status: str = "sent") -> dict:
        addressee = "recipient_id" if to.isascii() and to.isdigit() else "recipient_user_id"  # as Meta names them
        item = {"id": wamid, "status": status, "timestamp": str(int(time.time())), addressee: to}
        if opaque:
            item["biz_opaque_callback_data"] = opaque
        metadata = {"display_phone_number": "34910000001", "phone_number_id": self.status_hook.phone_number_id}
        value = {"messaging_product": "whatsapp", "metadata": metadata, "statuses": [item]}
        change = {"value": value, "field": "messages"}
        return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}

    async def _post_statuses(self, to: str, wamid: str, opaque) -> None:
        for status in self.status_hook.statuses:  # in Meta's order: sent, then delivered, then read
            await asyncio.sleep(0.05)
            await self._post_status(self.status_payload(to, wamid, opaque, status))

    async def _post_status(self, payload: dict) -> None:
        raw = json.dumps(payload).encode()
        digest = hmac.new(self.status_hook.app_secret.encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
        for _ in range(5):  # Meta retries a webhook that is not answered 200
            try:
                async with self.hooks.post(self.status_hook.url, data=raw, headers=headers) as response:
                    if response.status == 200:
                        with self.lock:
                            self.webhooks_posted += 1
                        return
                    failure = f"HTTP {response.status}"
            except aiohttp.ClientError as exc:
                failure = exc.__class__.__name__
            await asyncio.sleep(0.5)
        with self.lock:
            self.webhook_failures.append(failure)

    def close(self) -> None:
        self.release()

        async def stop() -> None:
            await self.hooks.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _query(request: web.Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in request.query.items():
        query.setdefault(key, []).append(value)
    return query


def _addressee(body: dict, whatsapp: bool) -> str:
    if not whatsapp:
        return str((body.get("recipient") or {}).get("id") or "")
    user_id = body.get("recipient")
    return str(body.get("to") or "").lstrip("+") or (user_id if isinstance(user_id, str) else "")


def _sent_body(body: dict, to: str, message_id: str, whatsapp: bool) -> dict:
    """Meta's answer: WhatsApp names the contact by `wa_id` for a number, by `user_id` for a user id."""
    if not whatsapp:
        return {"recipient_id": to, "message_id": message_id}
    contact = {"input": to, "wa_id": to} if body.get("to") else {"input": to, "user_id": to}
    return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": message_id}]}


def _error(code: int, message: str = "") -> web.Response:
    return web.json_response(graph_error(code, message), status=429 if code == THROUGHPUT else 400)


def _node(request: web.Request, node: str, token: str, data: dict) -> web.Response:
    """A phone number or page node: only the token it was issued with may read it, and only the asked fields."""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ") or request.query.get("access_token", "")
    if given != token:
        return web.json_response(graph_error(190, "Invalid OAuth access token - Cannot parse access token"), status=401)
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    return web.json_response({"id": node, **{f: data[f] for f in fields if f in data}})


def _drop(request: web.Request) -> web.Response:
    request.transport.close()  # no answer at all: the client sees the connection drop
    return web.Response()


async def _reset_mid_body(request: web.Request) -> web.StreamResponse:
    """Headers and half a body, then the connection goes: the client sees a truncated answer."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json", "Content-Length": "200"})
    await response.prepare(request)
    await response.write(b'{"messaging_product": "whatsapp", "contacts"')
    request.transport.close()
    return response


@pytest.fixture
def fake_graph(settings):
    graph = FakeGraph()
    settings.META_GRAPH_API_URL = graph.url
    settings.CHARLA_OUTBOUND_ALLOW_PRIVATE = True  # the fake serves its media over http on 127.0.0.1
    settings.CONVERSATIONS_SEND_BACKOFF = 0
    yield graph
    graph.close()
