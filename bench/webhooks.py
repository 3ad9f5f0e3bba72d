"""Webhook ingest and processing speed, each beside a raw baseline measured in the same run.

Usage (PostgreSQL + a Redis db that no worker consumes; the queued tasks are removed at the end):
    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/N python bench/webhooks.py [--requests 2000]

1. ingest: signed WhatsApp webhooks POSTed to the real endpoint under uvicorn by 20 keep-alive clients,
   beside the same load on a do-nothing Django view (bench/bench_urls.py) under the same server.
   Meta needs ~320 webhook requests/s for one fully used number.
2. process: the Celery task's service (`webhook_event_run`, once per stored event, as a worker drains a
   deep queue: a run applies up to 50 waiting events together and the later runs find theirs done), beside a
   raw single-row INSERT + commit per message; with the queries it made per message.
Prints one JSON line per figure; the merchant it creates is deleted afterwards.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
# A bench is not a deploy: settings refuse to start without a key, so it brings a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + secrets.token_hex(24))
os.environ.setdefault("CHARLA_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apps.conversations.models import Channel, Message, WebhookEvent  # noqa: E402
from apps.conversations.services.maintenance import webhook_event_run  # noqa: E402
from apps.merchants.models import Merchant  # noqa: E402

CLIENTS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def payload(phone_number_id: str, i: int) -> bytes:
    wa_id = f"3469{i % 5000:07d}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000001", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": f"Bench {i}"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": f"wamid.BENCH{secrets.token_hex(12)}", "timestamp": str(int(time.time())),
                      "type": "text", "text": {"body": f"hola {i}"}}],
    }  # fmt: skip
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": value}]}]}  # fmt: skip
    return json.dumps(envelope).encode()


def load(port: int, path: str, bodies: list[bytes], secret: str | None) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    chunks = [bodies[i::CLIENTS] for i in range(CLIENTS)]

    def client(chunk: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for body in chunk:
            headers = {"Content-Type": "application/json"}
            if secret:
                headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "req_per_s": round(len(bodies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "errors": errors[0],
    }


def start_server(port: int) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.bench_settings", DJANGO_DEBUG="false")
    env.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("POST", "/bench/noop", body=b"")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("uvicorn did not start")


def raw_inserts(count: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_rows (id serial primary key, body text, at timestamptz)")
        started = time.perf_counter()
        for i in range(count):
            cursor.execute("INSERT INTO bench_rows (body, at) VALUES (%s, now())", [f"hola {i}"])
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_rows")
    return elapsed


def purge_queue() -> None:
    from portal.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    merchant = Merchant.objects.create(name="Bench webhooks", slug=f"bench-wh-{secrets.token_hex(3)}")
    channel = Channel.objects.create(
        merchant=merchant, kind="whatsapp", name="bench", phone_number_id=str(10**14 + secrets.randbelow(10**13)),
        access_token="x", app_secret=secrets.token_hex(16), verify_token="v",
    )  # fmt: skip
    port = free_port()
    server = start_server(port)
    try:
        bodies = [payload(channel.phone_number_id, i) for i in range(args.requests)]
        baseline = load(port, "/bench/noop", bodies, None)
        ingest = load(port, f"/webhooks/whatsapp/{channel.pk}/", bodies, channel.app_secret)
        print(json.dumps({"bench": "webhook_ingest", **ingest, "baseline": "noop_view", **{
            f"baseline_{k}": v for k, v in baseline.items()}}))  # fmt: skip
        ids = list(WebhookEvent.objects.filter(channel=channel).order_by("id").values_list("id", flat=True))
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            for event_id in ids:
                webhook_event_run(event_id=event_id)
        processed = time.perf_counter() - started
        messages = Message.objects.filter(channel=channel).count()
        raw = raw_inserts(len(ids))
        print(json.dumps({"bench": "webhook_process", "events": len(ids), "messages": messages,
                          "messages_per_s": round(messages / processed, 1),
                          "queries_per_message": round(len(queries.captured_queries) / max(messages, 1), 2),
                          "baseline": "raw_insert_commit", "baseline_rows_per_s": round(len(ids) / raw, 1),
                          "ratio": round((messages / processed) / (len(ids) / raw), 3)}))  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)
        purge_queue()
        merchant.delete()


if __name__ == "__main__":
    main()
