"""A fake WhatsApp Cloud API (aiohttp, on loopback) that records every request.

Beyond tests/conversations/fake_graph.py it answers per recipient (`errors[to] = code`, or
`errors_once`), can hold every answer (`delay`) so a test can kill a worker while requests are in
flight, counts messages per recipient, and keeps biz_opaque_callback_data so tests can send the
status webhooks Meta would send.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections import Counter

from aiohttp import web

THROUGHPUT = 130429


def graph_error(code: int) -> dict:
    return {"error": {"message": f"fake {code}", "type": "OAuthException", "code": code, "fbtrace_id": "FAKE"}}


class FakeProvider:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.errors: dict[str, int] = {}
        self.errors_once: dict[str, int] = {}
        self.requests: list[dict] = []  # every POST body, accepted or not
        self.accepted: list[dict] = []  # {"to" (the number or user id addressed), "wamid", "opaque", "body"}
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
        self.runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        # The addressee: `to` (a number) wins over `recipient` (a business-scoped user id), as Meta documents.
        to = str(body.get("to") or body.get("recipient") or "")
        with self.lock:
            self.requests.append(body)
            code = (self.errors_once.pop(to, None) or self.errors.get(to)) if to else 100  # 100: no addressee
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            with self.lock:
                self.in_flight -= 1
        if code:
            return web.json_response(graph_error(code), status=429 if code == THROUGHPUT else 400)
        wamid = "wamid.FAKE" + secrets.token_hex(10)
        with self.lock:
            self.accepted.append(
                {"to": to, "wamid": wamid, "opaque": body.get("biz_opaque_callback_data"), "body": body}
            )
        contact = {"input": to, "wa_id": to} if body.get("to") else {"input": to, "user_id": to}
        return web.json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": wamid}]})

    def per_recipient(self) -> Counter:
        with self.lock:
            return Counter(item["to"] for item in self.accepted)

    def close(self) -> None:
        async def stop():
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
