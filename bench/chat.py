"""Live chat speed through the real ASGI server, each figure beside a raw baseline from the same run.

    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/chat.py [--sockets 200] [--rounds 3] [--spread 10]
        [--posts 2000]

Creates its own PostgreSQL database (charla_bench_chat), migrates it, creates a merchant with a web-chat
and a WhatsApp channel, starts uvicorn (portal.asgi, bench/bench_settings.py) on a free loopback port, then
  (a) opens N widget sockets and one agent socket; each widget sends `rounds` messages at random moments;
      latency = widget send → the agent socket receiving that message.created event;
      baseline: a raw Redis PUBLISH → subscriber round trip (redis-py asyncio) in the same run;
  (b) signed WhatsApp webhook POSTs (real endpoint: signature check, INSERT, Celery enqueue) from 20
      concurrent aiohttp clients, beside the same number of POSTs to a do-nothing Django view.
Prints one JSON line per figure. Loopback only, bounded in count and time; it stops what it starts and
drops its database and its Celery queue afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "charla_bench_chat"
PG_BASE = os.environ.get("BENCH_PG", "postgres://root@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
ORIGIN = "http://bench.localhost"
APP_SECRET = "bench-app-secret"
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"
ENCRYPTION_KEY = "YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU="
TIMEOUT = 120


def emit(**figure) -> None:
    print(json.dumps(figure), flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- setup
def environment() -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{PG_BASE}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        CHANNELS_PREFIX="charla_bench_chat",
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=SECRET_KEY,
        CHARLA_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        # The 200 customers all come from 127.0.0.1 here; in life they come from 200 addresses. The per-IP
        # widget limit (300 messages a minute) would refuse most of them and the run would measure the limiter.
        CHARLA_RATE_LIMITS="widget.message.ip=100000/min",
    )
    return env


def database_recreate() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def database_drop() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def fixtures(sockets: int) -> dict:
    """Merchant, agent session, channels and one signed visitor token per widget socket."""
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User
    from apps.conversations import widget
    from apps.conversations.models import Channel
    from apps.core.roles import Role
    from apps.merchants.models import Membership, Merchant
    from tests.samples import WA_PHONE_NUMBER_ID

    merchant = Merchant.objects.create(name="Bench shop", slug="bench-shop")
    user = User.objects.create_user("agent@bench.test", "bench-password-123")
    Membership.objects.create(merchant=merchant, user=user, role=Role.AGENT)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    webchat = Channel.objects.create(merchant=merchant, kind="webchat", name="Web", allowed_origins=[ORIGIN])
    whatsapp = Channel.objects.create(
        merchant=merchant, kind="whatsapp", name="WA", phone_number_id=WA_PHONE_NUMBER_ID,
        access_token="x", app_secret=APP_SECRET, verify_token="v",
    )  # fmt: skip
    tokens = [
        widget.visitor_token_make(channel_id=webchat.pk, visitor_id=widget.visitor_id_new()) for _ in range(sockets)
    ]
    return {"session": session.session_key, "public_key": webchat.public_key, "whatsapp_id": whatsapp.pk,
            "tokens": tokens}  # fmt: skip


def server_start(env: dict, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--no-access-log", "--ws-max-queue", "1024"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    import urllib.request

    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("uvicorn did not start")


# --------------------------------------------------------------------------- (a) chat latency
async def chat_latency(port: int, data: dict, rounds: int, spread: float) -> tuple[list[float], float]:
    import websockets

    base = f"ws://127.0.0.1:{port}"
    sent: dict[str, float] = {}
    latencies: list[float] = []
    expected = len(data["tokens"]) * rounds
    done = asyncio.Event()

    agent = await websockets.connect(
        f"{base}/ws/inbox/", origin="http://127.0.0.1",
        additional_headers={"Cookie": f"sessionid={data['session']}"}, compression=None, max_queue=None,
    )  # fmt: skip
    assert json.loads(await agent.recv())["type"] == "hello"

    async def agent_reader():
        async for raw in agent:
            message = json.loads(raw)
            if message.get("type") == "event" and message["kind"] == "message.created":
                started = sent.pop(message["payload"]["body"], None)
                if started is not None:
                    latencies.append((time.perf_counter() - started) * 1000)
                    if len(latencies) == expected:
                        done.set()

    reader = asyncio.create_task(agent_reader())
    sockets = await asyncio.gather(*(widget_open(base, data["public_key"], t) for t in data["tokens"]))

    async def customer(ws, index: int):
        for n in range(rounds):
            await asyncio.sleep(random.uniform(0, spread))
            body = f"bench {index}.{n}"
            sent[body] = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": body}))

    started = time.perf_counter()
    await asyncio.gather(*(customer(ws, i) for i, ws in enumerate(sockets)))
    try:
        await asyncio.wait_for(done.wait(), timeout=TIMEOUT)
    finally:
        reader.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), agent.close(), return_exceptions=True)
    return latencies, expected / (time.perf_counter() - started)


async def widget_open(base: str, public_key: str, token: str):
    import websockets

    ws = await websockets.connect(f"{base}/ws/widget/{public_key}/", origin=ORIGIN, compression=None, max_queue=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv())["type"] == "ready"

    async def discard():  # acks and the widget's own events: read so the server never blocks on us
        async for _ in ws:
            pass

    ws.discard_task = asyncio.create_task(discard())
    return ws


async def redis_round_trip(count: int) -> list[float]:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    channel = f"bench-chat-{uuid.uuid4().hex}"
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    out = []
    for n in range(count):
        started = time.perf_counter()
        await client.publish(channel, str(n))
        while True:
            message = await pubsub.get_message(timeout=5)
            if message and message["type"] == "message":
                break
        out.append((time.perf_counter() - started) * 1000)
    await pubsub.unsubscribe(channel)
    await pubsub.aclose()
    await client.aclose()
    return out


# --------------------------------------------------------------------------- (b) webhook ingest
def whatsapp_body(n: int) -> bytes:
    from tests.samples import sample as fixture

    sample = fixture("whatsapp/inbound_text.json")
    message = sample["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.bench{n:08d}"
    message["from"] = f"3460{n % 500:07d}"
    return json.dumps(sample).encode()


async def post_rate(url: str, bodies: list[bytes], concurrency: int, signed: bool) -> tuple[float, dict]:
    import aiohttp

    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: dict[int, int] = {}

    async def worker(session):
        while not queue.empty():
            body = queue.get_nowait()
            headers = {"Content-Type": "application/json"}
            if signed:
                headers["X-Hub-Signature-256"] = (
                    "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
                )
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(bodies) / elapsed, statuses


# --------------------------------------------------------------------------- main
async def measure(port: int, data: dict, args) -> None:
    latencies, delivered = await chat_latency(port, data, args.rounds, args.spread)
    baseline = await redis_round_trip(max(500, len(latencies)))
    p50, p99 = statistics.median(latencies), pct(latencies, 0.99)
    b50, b99 = statistics.median(baseline), pct(baseline, 0.99)
    offered = len(data["tokens"]) / args.spread
    emit(bench="chat.latency", sockets=len(data["tokens"]), messages=len(latencies), offered_msg_per_s=round(offered),
         delivered_msg_per_s=round(delivered, 1), p50_ms=round(p50, 2), p99_ms=round(p99, 2),
         baseline="redis.pubsub", baseline_p50_ms=round(b50, 3), baseline_p99_ms=round(b99, 3),
         ratio_p50=round(p50 / b50, 1))  # fmt: skip

    base = f"http://127.0.0.1:{port}"
    bodies = [whatsapp_body(n) for n in range(args.posts)]
    noop_rate, noop_statuses = await post_rate(f"{base}/bench/noop", bodies, 20, signed=False)
    hook_rate, hook_statuses = await post_rate(f"{base}/webhooks/whatsapp/{data['whatsapp_id']}/", bodies, 20, True)
    emit(bench="webhook.ingest", requests=args.posts, concurrency=20, req_per_s=round(hook_rate),
         statuses=hook_statuses, baseline="django.noop_view", baseline_req_per_s=round(noop_rate),
         baseline_statuses=noop_statuses, ratio=round(hook_rate / noop_rate, 2))  # fmt: skip


def celery_queue_clear() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).delete("celery")  # the webhook tasks no worker ran


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--posts", type=int, default=2000)
    # Each widget sends one message per round at a random moment within `spread` seconds, so the offered
    # load is sockets / spread messages per second (200 / 10 s = 20 msg/s: 200 open chats, each customer
    # writing every ~10 s). --spread 4 (50 msg/s) is the stress setting.
    parser.add_argument("--spread", type=float, default=10.0)
    args = parser.parse_args()
    env = environment()
    os.environ.update(env)
    database_recreate()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    data = fixtures(args.sockets)
    port = free_port()
    server = server_start(env, port)
    try:
        asyncio.run(measure(port, data, args))
    finally:
        server.terminate()
        server.wait(timeout=20)
        celery_queue_clear()
        from django.db import connections

        connections.close_all()
        database_drop()


if __name__ == "__main__":
    main()
