"""Live chat latency through the real ASGI server, each figure beside raw baselines from the same run.

    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/chat.py [--sockets 200,2000] [--rates 20,50,100]
        [--seconds 12] [--agents 20] [--posts 2000]

Creates its own PostgreSQL database (BENCH_DB, default charla_bench_chat), migrates it, creates a merchant with
a web-chat and a WhatsApp channel, `--agents` agents and one open web chat per widget socket, starts uvicorn
(portal.asgi, bench/bench_settings.py) and a bare uvicorn echo app (bench/echo_app.py) on free loopback ports.
  (a) chat: opens the widget sockets and one inbox socket per agent, then for each socket count and rate
      sends that many messages a second for `--seconds`, alternately a customer's (widget socket frame) and
      an agent's reply (POST /api/v1/conversations/<id>/messages/ with the agent's session, as the inbox
      does). customer→agent = widget send → each agent socket receiving its message.created event;
      agent→customer = POST sent → the customer's widget socket receiving it. Every message must arrive
      (at all agents, or at its customer) and each socket must see each conversation's events in seq order.
      Beside each cell: the same rate of frames to the echo app over as many sockets (the raw WebSocket
      floor), and a raw Redis PUBLISH → subscriber round trip (redis-py asyncio).
  (b) signed WhatsApp webhook POSTs (real endpoint: signature check, INSERT, Celery enqueue) from 20
      concurrent aiohttp clients, beside the same number of POSTs to a do-nothing Django view.
Prints one JSON line per figure. Loopback only, bounded in count and time; it stops what it starts and
drops its database and its Celery queue afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = os.environ.get("BENCH_DB", "charla_bench_chat")
PG_BASE = os.environ.get("BENCH_PG", "postgres://root@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3")
ORIGIN = "http://bench.localhost"
APP_SECRET = "bench-app-secret"
SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"
ENCRYPTION_KEY = "YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU="
TIMEOUT = 60  # seconds a cell waits for its last messages after the senders stop
CSRF = "benchcsrf0123456" * 2  # the agents' CSRF cookie and header (32 characters, as Django issues them)


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
        CHANNELS_PREFIX=DB_NAME,
        DJANGO_SETTINGS_MODULE="bench.bench_settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=SECRET_KEY,
        CHARLA_ENCRYPTION_KEYS=ENCRYPTION_KEY,
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        # Every bench customer comes from 127.0.0.1 and from one merchant; in life they come from thousands of
        # addresses. The limiter still counts every message (its cost is measured); it just never refuses one.
        CHARLA_RATE_LIMITS="widget.message.ip=10000000/min,widget.message.merchant=10000000/min",
    )
    return env


def files_limit_raise(sockets: int) -> None:
    """2,000 sockets are 4,000 descriptors on this machine (both ends); uvicorn inherits the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, min(hard, 4 * sockets + 1024))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < 2 * sockets + 256:
        raise SystemExit(f"{sockets} sockets need more open files than the hard limit ({hard}) allows")


def database_recreate() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def database_drop() -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def fixtures(sockets: int, agents: int) -> dict:
    """Merchant, agents with sessions, channels, and per widget socket a visitor token and its open web chat."""
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User
    from apps.contacts.services import contact_resolve_identity
    from apps.conversations import widget
    from apps.conversations.models import Channel
    from apps.conversations.services.conversations import conversation_start
    from apps.core.roles import Role
    from apps.merchants.models import Membership, Merchant
    from tests.samples import WA_PHONE_NUMBER_ID

    merchant = Merchant.objects.create(name="Bench shop", slug="bench-shop")
    sessions = []
    for n in range(agents):
        user = User.objects.create_user(f"agent{n}@bench.test", "bench-password-123")
        Membership.objects.create(merchant=merchant, user=user, role=Role.AGENT)
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    webchat = Channel.objects.create(merchant=merchant, kind="webchat", name="Web", allowed_origins=[ORIGIN])
    whatsapp = Channel.objects.create(
        merchant=merchant, kind="whatsapp", name="WA", phone_number_id=WA_PHONE_NUMBER_ID,
        access_token="x", app_secret=APP_SECRET, verify_token="v",
    )  # fmt: skip
    visitors = []
    for _ in range(sockets):  # open chats: each customer wrote before (the first message is not measured)
        visitor_id = widget.visitor_id_new()
        contact = contact_resolve_identity(merchant=merchant, kind="webchat", external_id=visitor_id)
        conversation, _ = conversation_start(channel=webchat, contact=contact, visitor_id=visitor_id)
        token = widget.visitor_token_make(channel_id=webchat.pk, visitor_id=visitor_id)
        visitors.append((token, conversation.pk))
    return {"sessions": sessions, "public_key": webchat.public_key, "whatsapp_id": whatsapp.pk,
            "visitors": visitors}  # fmt: skip


def server_start(env: dict, port: int, app: str = "portal.asgi:application") -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
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
    raise SystemExit(f"uvicorn ({app}) did not start")


# --------------------------------------------------------------------------- (a) chat latency
class Ledger:
    """What was sent when, what arrived where, and each socket's seqs per conversation (for the order check)."""

    def __init__(self, agents: int) -> None:
        self.agents = agents
        self.sent: dict[str, float] = {}
        self.to_agents: dict[str, list[float]] = {}  # customer message → latency at each agent socket
        self.to_customer: dict[str, float] = {}  # agent reply → latency at its widget socket
        self.out_of_order = 0
        self.last_seq: dict[tuple[int, int], int] = {}  # (socket, conversation) → last seq seen
        self.failures: dict[str, int] = {}
        self.pending = 0
        self.settled = asyncio.Event()

    def seen(self, socket_id: int, conversation_id: int, seq: int) -> None:
        key = (socket_id, conversation_id)
        if seq <= self.last_seq.get(key, 0):
            self.out_of_order += 1
        self.last_seq[key] = seq

    def expect(self, body: str) -> None:
        self.sent[body] = time.perf_counter()
        self.pending += 1
        self.settled.clear()

    def _done(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.settled.set()

    def at_agent(self, body: str) -> None:
        started = self.sent.get(body)
        if started is None or not body.startswith("c"):
            return
        arrivals = self.to_agents.setdefault(body, [])
        arrivals.append((time.perf_counter() - started) * 1000)
        if len(arrivals) == self.agents:
            self._done()

    def at_customer(self, body: str) -> None:
        started = self.sent.get(body)
        if started is not None and body.startswith("a") and body not in self.to_customer:
            self.to_customer[body] = (time.perf_counter() - started) * 1000
            self._done()

    def failed(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1
        self._done()


async def agent_open(base: str, session: str, socket_id: int, ledger: Ledger):
    import websockets

    ws = await websockets.connect(
        f"{base}/ws/inbox/", origin="http://127.0.0.1",
        additional_headers={"Cookie": f"sessionid={session}"}, compression=None, max_queue=None,
    )  # fmt: skip
    assert json.loads(await ws.recv())["type"] == "hello"

    async def read():
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "event" and message["kind"] == "message.created":
                ledger.seen(socket_id, message["conversation_id"], message["seq"])
                ledger.at_agent(message["payload"]["body"])

    ws.reader = asyncio.create_task(read())
    return ws


async def widget_open(base: str, public_key: str, token: str, socket_id: int, conversation_id: int, ledger: Ledger):
    import websockets

    ws = await websockets.connect(f"{base}/ws/widget/{public_key}/", origin=ORIGIN, compression=None, max_queue=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await ws.recv())["type"] == "ready"

    async def read():  # acks and events: read all, so the server never blocks on us
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "event" and message["kind"] == "message.created":
                ledger.seen(socket_id, conversation_id, message["seq"])
                ledger.at_customer(message["message"]["body"])
            elif message.get("type") == "error":
                ledger.failed(f"widget.{message.get('code')}")

    ws.reader = asyncio.create_task(read())
    ws.conversation_id = conversation_id
    return ws


async def agent_reply(http, base: str, session: str, conversation_id: int, body: str, ledger: Ledger) -> None:
    headers = {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
    url = f"{base}/api/v1/conversations/{conversation_id}/messages/"
    try:
        async with http.post(url, json={"text": body}, headers=headers) as response:
            await response.read()
            if response.status != 201:
                ledger.failed(f"reply.{response.status}")
    except Exception as exc:  # the ledger counts it; the run goes on
        ledger.failed(f"reply.{type(exc).__name__}")


async def chat_cell(base: str, agents: list, widgets: list, sessions: list, rate: int, seconds: float, cell: str):
    """`rate` messages a second for `seconds`, customers and agents alternately, open loop (a slow server
    does not slow the senders down: the queue it builds shows up as latency)."""
    import aiohttp

    ledger = agents[0].ledger
    total = int(rate * seconds)
    order = random.sample(range(len(widgets)), len(widgets))
    tasks = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(sessions))) as http:
        started = time.perf_counter()
        for n in range(total):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            ws = widgets[order[(n // 2) % len(order)]]
            if n % 2 == 0:
                body = f"c{cell}.{n}"
                ledger.expect(body)
                frame = {"type": "message", "id": str(uuid.uuid4()), "text": body}
                tasks.append(asyncio.create_task(ws.send(json.dumps(frame))))
            else:  # the agent answers the customer who just wrote
                body = f"a{cell}.{n}"
                ledger.expect(body)
                session = sessions[(n // 2) % len(sessions)]
                tasks.append(asyncio.create_task(agent_reply(http, base, session, ws.conversation_id, body, ledger)))
        offered = total / (time.perf_counter() - started)
        await asyncio.gather(*tasks)
        with contextlib.suppress(TimeoutError):  # what never came is counted as lost
            await asyncio.wait_for(ledger.settled.wait(), timeout=TIMEOUT)
    return offered


async def echo_cell(sockets: list, rate: int, seconds: float) -> list[float]:
    """The same frame rate through a bare uvicorn echo app: what a WebSocket round trip costs here."""
    out: list[float] = []
    started = time.perf_counter()
    waiting: list = []

    async def one(ws, n: int):
        sent = time.perf_counter()
        await ws.send(str(n))
        await ws.recv()
        out.append((time.perf_counter() - sent) * 1000)

    for n in range(int(rate * seconds)):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        waiting.append(asyncio.create_task(one(sockets[n % len(sockets)], n)))
    await asyncio.gather(*waiting)
    return out


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux): the server's cost per message, which the other
    load on a shared machine stretches far less than it stretches latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figures(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.median(values), 2), round(pct(values, 0.99), 2)


def ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 1) if value is not None and base else None


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
async def chat_measure(port: int, echo_port: int, data: dict, args) -> None:
    import websockets

    base = f"ws://127.0.0.1:{port}"
    ledger = Ledger(agents=len(data["sessions"]))
    agents = [await agent_open(base, s, n, ledger) for n, s in enumerate(data["sessions"])]
    agents[0].ledger = ledger
    widgets, echoes = [], []
    try:
        for count in args.sockets:
            while len(widgets) < count:  # opened in batches so the server's accept queue never overflows
                batch = data["visitors"][len(widgets) : min(count, len(widgets) + 100)]
                first = len(agents) + len(widgets)
                widgets += await asyncio.gather(
                    *(widget_open(base, data["public_key"], t, first + i, c, ledger) for i, (t, c) in enumerate(batch))
                )
            while len(echoes) < count:
                need = min(count - len(echoes), 100)
                echoes += await asyncio.gather(
                    *(websockets.connect(f"ws://127.0.0.1:{echo_port}/", compression=None) for _ in range(need))
                )
            for rate in args.rates:
                await chat_report(port, agents, widgets, echoes, data, rate, args)
    finally:
        for ws in agents + widgets:
            ws.reader.cancel()
        await asyncio.gather(*(ws.close() for ws in agents + widgets + echoes), return_exceptions=True)


async def chat_report(port: int, agents, widgets, echoes, data: dict, rate: int, args) -> None:
    ledger = agents[0].ledger
    cell = f"{len(widgets)}x{rate}"
    before = len(ledger.to_agents), len(ledger.to_customer), ledger.out_of_order, dict(ledger.failures)
    sent_before = len(ledger.sent)
    cpu_before = cpu_seconds(args.server_pid)
    offered = await chat_cell(f"http://127.0.0.1:{port}", agents, widgets, data["sessions"], rate, args.seconds, cell)
    bodies = [b for b in ledger.sent if b[1:].startswith(f"{cell}.")]
    customer = [lat for b in bodies if b[0] == "c" for lat in ledger.to_agents.get(b, [])]
    replies = [ledger.to_customer[b] for b in bodies if b in ledger.to_customer]
    lost_customer = sum(1 for b in bodies if b[0] == "c" and len(ledger.to_agents.get(b, [])) < ledger.agents)
    lost_replies = sum(1 for b in bodies if b[0] == "a" and b not in ledger.to_customer)
    cpu_ms = (cpu_seconds(args.server_pid) - cpu_before) * 1000 / max(1, len(bodies))
    failures = {k: v - before[3].get(k, 0) for k, v in ledger.failures.items() if v != before[3].get(k, 0)}
    echo = await echo_cell(echoes, rate, min(args.seconds, 5))
    redis_rt = await redis_round_trip(200)
    c50, c99 = figures(customer)
    a50, a99 = figures(replies)
    e50, e99 = figures(echo)
    r50, r99 = figures(redis_rt)
    emit(bench="chat.latency", sockets=len(widgets), agents=len(agents), rate_msg_per_s=rate,
         offered_msg_per_s=round(offered, 1), messages=len(ledger.sent) - sent_before,
         customer_to_agent_p50_ms=c50, customer_to_agent_p99_ms=c99,
         agent_to_customer_p50_ms=a50, agent_to_customer_p99_ms=a99,
         lost=lost_customer + lost_replies, out_of_order=ledger.out_of_order - before[2], failures=failures,
         ws_echo_p50_ms=e50, ws_echo_p99_ms=e99, redis_pubsub_p50_ms=r50, redis_pubsub_p99_ms=r99,
         ratio_c2a_p99_to_echo=ratio(c99, e99), ratio_a2c_p99_to_echo=ratio(a99, e99),
         ratio_c2a_p50_to_redis=ratio(c50, r50), server_cpu_ms_per_msg=round(cpu_ms, 2))  # fmt: skip


async def webhook_measure(port: int, data: dict, args) -> None:
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


def numbers(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(",") if part.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=numbers, default=[200, 2000], help="widget socket counts, e.g. 200,2000")
    parser.add_argument("--rates", type=numbers, default=[20, 50, 100], help="messages a second, e.g. 20,50,100")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each cell")
    parser.add_argument("--agents", type=int, default=20, help="agent inbox sockets (and agents replying)")
    parser.add_argument("--posts", type=int, default=2000, help="webhook POSTs (0: skip the webhook figure)")
    args = parser.parse_args()
    files_limit_raise(max(args.sockets))
    env = environment()
    os.environ.update(env)
    database_recreate()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    data = fixtures(max(args.sockets), args.agents)
    port, echo_port = free_port(), free_port()
    server = server_start(env, port)
    echo = server_start(env, echo_port, app="bench.echo_app:app")
    args.server_pid = server.pid
    try:
        asyncio.run(chat_measure(port, echo_port, data, args))
        if args.posts:
            asyncio.run(webhook_measure(port, data, args))
    finally:
        for process in (server, echo):
            process.terminate()
            process.wait(timeout=20)
        celery_queue_clear()
        from django.db import connections

        connections.close_all()
        database_drop()


if __name__ == "__main__":
    main()
