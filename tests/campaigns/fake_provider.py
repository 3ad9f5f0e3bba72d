"""A fake WhatsApp Cloud API (aiohttp, on loopback) that records every request.

Beyond tests/conversations/fake_graph.py it answers per recipient (`errors[to] = code`, or
`errors_once`), can hold every answer (`delay`) so a test can kill a worker while requests are in
flight, counts messages per recipient, and keeps biz_opaque_callback_data so tests can send the
status webhooks Meta would send.

For crash drills it can also behave like Meta under load (`Weather`): answers that take 100-300 ms
and longer the more requests are in flight, a share of 5xx (not accepted), a share of connections
closed without an answer (half of them after Meta accepted the message: the sender cannot know),
answers held from the n-th request on (`hold_after`), and a signed `sent` status webhook for every
accepted message, echoing `biz_opaque_callback_data`, posted to the channel's webhook URL.
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
from aiohttp import web

THROUGHPUT = 130429
ACCEPTED, REFUSED_5XX, DROPPED, ACCEPTED_THEN_DROPPED = "accepted", "5xx", "dropped", "accepted_then_dropped"


def graph_error(code: int) -> dict:
    return {"error": {"message": f"fake {code}", "type": "OAuthException", "code": code, "fbtrace_id": "FAKE"}}


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
    """Where the fake posts `sent` statuses: Meta signs them with the app secret (X-Hub-Signature-256)."""

    url: str
    app_secret: str
    phone_number_id: str


class FakeProvider:
    def __init__(self, delay: float = 0.0, weather: Weather | None = None, status_hook: StatusHook | None = None):
        self.delay = delay
        self.weather = weather
        self.status_hook = status_hook
        self.random = random.Random(weather.seed if weather else 0)
        self.hold_after: int | None = None  # from this many requests on, answers wait for `release()`
        self.errors: dict[str, int] = {}
        self.errors_once: dict[str, int] = {}
        self.requests: list[dict] = []  # every POST body, accepted or not
        self.log: list[dict] = []  # {"to", "opaque", "at" (time.time() on receipt), "fate"}
        self.accepted: list[dict] = []  # {"to" (the number or user id addressed), "wamid", "opaque", "body"}
        self.webhooks_posted = 0
        self.webhook_failures: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests it was answering at once
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}/v21.0"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/v21.0/{phone}/messages", self._messages)
        self.runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.loop.run_until_complete(self._open_hooks())
        self.ready.set()
        self.loop.run_forever()

    async def _open_hooks(self) -> None:
        self.hooks = aiohttp.ClientSession() if self.status_hook else None
        self.released = asyncio.Event()

    def _fate(self) -> str:
        if self.weather is None:
            return ACCEPTED
        draw = self.random.random()
        if draw < self.weather.error_rate:
            return REFUSED_5XX
        if draw < self.weather.error_rate + self.weather.drop_rate / 2:
            return DROPPED
        if draw < self.weather.error_rate + self.weather.drop_rate:
            return ACCEPTED_THEN_DROPPED
        return ACCEPTED

    def _pause(self) -> float:
        if self.weather is None:
            return self.delay
        low, high = self.weather.latency
        return self.random.uniform(low, high) + self.weather.per_in_flight * self.in_flight

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        # The addressee: `to` (a number) wins over `recipient` (a business-scoped user id), as Meta documents.
        to = str(body.get("to") or body.get("recipient") or "")
        opaque = body.get("biz_opaque_callback_data")
        with self.lock:
            self.requests.append(body)
            code = (self.errors_once.pop(to, None) or self.errors.get(to)) if to else 100  # 100: no addressee
            fate = self._fate() if not code else REFUSED_5XX
            held = self.hold_after is not None and len(self.requests) > self.hold_after
            self.log.append({"to": to, "opaque": opaque, "at": time.time(), "fate": code or fate})
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            pause = self._pause()
        wamid = ""
        if not code and fate in (ACCEPTED, ACCEPTED_THEN_DROPPED):
            wamid = self._accept(to, opaque, body)
        try:
            if pause:
                await asyncio.sleep(pause)
            if held:
                await asyncio.wait_for(self.released.wait(), 120)
        finally:
            with self.lock:
                self.in_flight -= 1
        if code:
            return web.json_response(graph_error(code), status=429 if code == THROUGHPUT else 400)
        if fate == REFUSED_5XX:
            return web.json_response(graph_error(2), status=503)
        if fate in (DROPPED, ACCEPTED_THEN_DROPPED):
            request.transport.close()  # no answer at all: the client sees the connection drop
            return web.Response()
        contact = {"input": to, "wa_id": to} if body.get("to") else {"input": to, "user_id": to}
        return web.json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]})

    def _accept(self, to: str, opaque, body: dict) -> str:
        wamid = "wamid.FAKE" + secrets.token_hex(10)
        with self.lock:
            self.accepted.append({"to": to, "wamid": wamid, "opaque": opaque, "body": body})
        if self.status_hook is not None:
            self.loop.create_task(self._post_status(to, wamid, opaque))
        return wamid

    def status_payload(self, to: str, wamid: str, opaque, status: str = "sent") -> dict:
        addressee = "recipient_id" if to.isascii() and to.isdigit() else "recipient_user_id"  # as Meta names them
        item = {"id": wamid, "status": status, "timestamp": str(int(time.time())), addressee: to}
        if opaque:
            item["biz_opaque_callback_data"] = opaque
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "34910000001", "phone_number_id": self.status_hook.phone_number_id},
            "statuses": [item],
        }
        change = {"value": value, "field": "messages"}
        return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}

    async def _post_status(self, to: str, wamid: str, opaque) -> None:
        await asyncio.sleep(0.05)
        raw = json.dumps(self.status_payload(to, wamid, opaque)).encode()
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

    def release(self) -> None:
        """Answer every held request (and the later ones at once)."""
        self.loop.call_soon_threadsafe(self.released.set)

    def per_recipient(self) -> Counter:
        with self.lock:
            return Counter(item["to"] for item in self.accepted)

    def close(self) -> None:
        self.release()

        async def stop():
            if self.hooks is not None:
                await self.hooks.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
