"""Concurrent provider calls for one batch (aiohttp: measured ~20x faster than httpx async here).

Runs inside a sync Celery task on a private event loop; database work happens between chunks,
outside the loop. Every answer is classified so the ledger never guesses:
sent · throttled · retry (Meta surely did not accept it) · unknown (it may have) · failed (permanent).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

THROUGHPUT_CODES = frozenset({4, 17, 32, 613, 80007, 130429})
TEMPORARY_CODES = frozenset({1, 2, 131000})
MARKETING_LIMIT = 131049
MARKETING_STOPPED = 131050


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    kind: str  # sent | throttled | retry | unknown | failed | marketing_limit | opted_out
    provider_message_id: str = ""
    code: str = ""
    message: str = ""


def classify(delivery_id: int, status: int, body: dict | None) -> Outcome:
    body = body if isinstance(body, dict) else {}
    if status < 300:
        try:
            return Outcome(delivery_id, "sent", str(body["messages"][0]["id"]))
        except (KeyError, IndexError, TypeError):
            return Outcome(delivery_id, "unknown", message="answer without a message id")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = str(error.get("message") or f"HTTP {status}")[:500]
    label = str(code if code is not None else status)
    if status == 429 or code in THROUGHPUT_CODES:
        return Outcome(delivery_id, "throttled", code=label, message=message)
    if code == MARKETING_LIMIT:
        return Outcome(delivery_id, "marketing_limit", code=label, message=message)
    if code == MARKETING_STOPPED:
        return Outcome(delivery_id, "opted_out", code=label, message=message)
    if status >= 500 or code in TEMPORARY_CODES:
        return Outcome(delivery_id, "retry", code=label, message=message)
    return Outcome(delivery_id, "failed", code=label, message=message)


async def _post(session: aiohttp.ClientSession, url: str, delivery_id: int, payload: dict) -> Outcome:
    try:
        async with session.post(url, json=payload) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return classify(delivery_id, response.status, body)
    except aiohttp.ClientConnectorError as exc:  # never reached the provider: safe to send again
        return Outcome(delivery_id, "retry", code="connect", message=str(exc)[:500])
    except (TimeoutError, aiohttp.ClientError) as exc:  # the request may have been accepted
        return Outcome(delivery_id, "unknown", code="transport", message=exc.__class__.__name__)


class BatchSender:
    """One aiohttp session for a whole batch; `send(items)` posts a chunk concurrently."""

    def __init__(self, *, url: str, headers: dict, concurrency: int = 50, timeout: float = 20.0):
        self.url, self.headers, self.concurrency, self.timeout = url, headers, concurrency, timeout
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession | None = None

    async def _open(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.timeout, connect=5)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self.headers)

    def send(self, items: list[tuple[int, dict]]) -> list[Outcome]:
        if self.session is None:
            self.loop.run_until_complete(self._open())
        return self.loop.run_until_complete(self._send(items))

    async def _send(self, items: list[tuple[int, dict]]) -> list[Outcome]:
        return await asyncio.gather(*(_post(self.session, self.url, did, payload) for did, payload in items))

    def close(self) -> None:
        if self.session is not None:
            self.loop.run_until_complete(self.session.close())
        self.loop.close()

    def __enter__(self) -> BatchSender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
