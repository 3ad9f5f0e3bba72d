"""Campaign speed, each figure beside a raw baseline measured in the same run (one JSON line each).

    DATABASE_URL=postgres://root@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/campaign.py [--contacts 100000]

Builds its own database (charla_bench_campaigns by default), 100,000 contacts of which 70% have
WhatsApp marketing consent, then measures
  (a) building the delivery ledger (INSERT … SELECT from the segment) beside a raw COPY of the same
      (merchant, campaign, contact) rows into the same table;
  (b) end-to-end unthrottled sending through two real Celery worker processes on Redis into a local
      fake WhatsApp API (from launch to `completed`, the ledger build included), beside raw client
      loops against the same fake: httpx, as the issue asks (a keep-alive sync client, and an async
      one with 50 in flight; the faster is the baseline), and aiohttp with 50 in flight, the fastest
      client we measured and the one the workers use, as a stricter second baseline.
Loopback only, bounded: everything it starts it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def emit(**figure) -> None:
    print(json.dumps(figure), flush=True)


# --------------------------------------------------------------------------- fake provider (subprocess)
def serve_fake(port: int) -> None:
    from aiohttp import web

    seen: dict[str, int] = {}

    async def messages(request):
        body = await request.json()
        to = body.get("to", "")
        seen[to] = seen.get(to, 0) + 1
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": "wamid.B" + secrets.token_hex(8)}],
            }
        )

    async def stats(request):
        return web.json_response(
            {
                "requests": sum(seen.values()),
                "recipients": len(seen),
                "max_per_recipient": max(seen.values(), default=0),
            }
        )

    async def reset(request):
        seen.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v21.0/{phone}/messages", messages)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# --------------------------------------------------------------------------- setup
def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(base_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def populate(n: int):
    from django.core.management import call_command
    from django.utils import timezone

    from apps.campaigns.models import MessageTemplate, Segment
    from apps.contacts.models import ConsentEvent, ConsentState, Contact, ContactIdentity
    from apps.conversations.models import Channel
    from apps.merchants.models import Merchant

    call_command("migrate", verbosity=0)
    merchant = Merchant.objects.create(name="Bench", slug="bench", timezone="Europe/Madrid")
    channel = Channel.objects.create(
        merchant=merchant, kind="whatsapp", name="Bench WA", phone_number_id="1000", access_token="bench"
    )
    template = MessageTemplate.objects.create(
        merchant=merchant, name="bench_sale", language="es_ES", body="Hola {{first_name}}", status="approved"
    )
    segment = Segment.objects.create(merchant=merchant, name="Everyone", rules={"tags_any": ["bench"]})
    now = timezone.now()
    Contact.objects.bulk_create(
        [Contact(merchant=merchant, name=f"Person {i}", phone=f"+3470{i:07d}", tags=["bench"]) for i in range(n)],
        batch_size=5000,
    )
    contacts = list(Contact.objects.filter(merchant=merchant).order_by("id").values_list("id", "phone"))
    ContactIdentity.objects.bulk_create(
        [
            ContactIdentity(merchant=merchant, contact_id=cid, kind="whatsapp", external_id=phone[1:])
            for cid, phone in contacts
        ],
        batch_size=5000,
    )
    consented = [cid for i, (cid, _) in enumerate(contacts) if i % 10 < 7]
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                merchant=merchant,
                contact_id=cid,
                channel="whatsapp",
                purpose="marketing",
                action="grant",
                source="import",
                resulting_status="granted",
                occurred_at=now,
            )
            for cid in consented
        ],
        batch_size=5000,
    )
    events = dict(ConsentEvent.objects.filter(merchant=merchant).values_list("contact_id", "id"))
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                merchant=merchant,
                contact_id=cid,
                channel="whatsapp",
                purpose="marketing",
                status="granted",
                since=now,
                last_event_id=events[cid],
            )
            for cid in consented
        ],
        batch_size=5000,
    )
    # A live database has planner statistics (autovacuum); a table filled a second ago has none, and
    # without them PostgreSQL walks every identity of the merchant for each batch (32 ms instead of 1 ms).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return merchant, channel, template, segment, [cid for cid, _ in contacts], len(consented)


def new_campaign(merchant, channel, template, segment, name: str):
    from apps.campaigns.models import Campaign

    return Campaign.objects.create(
        merchant=merchant,
        name=name,
        channel=channel,
        template=template,
        segment=segment,
        params={"first_name": "first_name"},
        throttle_per_second=0,
    )


# --------------------------------------------------------------------------- (a) ledger
def bench_ledger(merchant, channel, template, segment, contact_ids: list[int]) -> None:
    from django.db import connection, transaction

    from apps.campaigns.services.ledger import ledger_build

    ours = new_campaign(merchant, channel, template, segment, "ledger")
    started = time.perf_counter()
    with transaction.atomic():
        rows = ledger_build(campaign=ours)
    ledger_s = time.perf_counter() - started

    raw = new_campaign(merchant, channel, template, segment, "copy")
    buffer = io.StringIO("".join(f"{merchant.pk}\t{raw.pk}\t{cid}\n" for cid in contact_ids))
    started = time.perf_counter()
    sql = "COPY campaigns_delivery (merchant_id, campaign_id, contact_id) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(buffer.getvalue())
    copy_s = time.perf_counter() - started
    emit(figure="ledger_build", rows=rows, seconds=round(ledger_s, 3), rows_per_s=round(rows / ledger_s))
    emit(
        figure="ledger_raw_copy_baseline",
        rows=len(contact_ids),
        seconds=round(copy_s, 3),
        rows_per_s=round(len(contact_ids) / copy_s),
    )
    emit(figure="ledger_vs_copy", ratio=round((rows / ledger_s) / (len(contact_ids) / copy_s), 2), aim=">= 0.5")


# --------------------------------------------------------------------------- (b) sending
def start_workers(env: dict, logs: Path) -> list[subprocess.Popen]:
    workers = []
    for n in range(2):
        log = open(logs / f"bench-worker-{n}.log", "w")  # noqa: SIM115
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "--concurrency",
                    "1",
                    "--pool",
                    "prefork",
                    "-n",
                    f"bench{n}@%h",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def stop(processes) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)


def fake_stats(base: str) -> dict:
    import httpx

    return httpx.get(f"{base}/stats").json()


def _raw_payloads(n: int) -> list[dict]:
    return [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": f"raw{i}",
            "type": "template",
            "template": {"name": "bench_sale", "language": {"code": "es_ES"}},
        }
        for i in range(n)
    ]


async def raw_aiohttp_loop(url: str, n: int, in_flight: int = 50) -> float:
    import aiohttp

    queue = iter(_raw_payloads(n))
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as session:

        async def worker():
            for payload in queue:
                async with session.post(url, json=payload) as response:
                    await response.read()

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return n / (time.perf_counter() - started)


def raw_httpx_sync_loop(url: str, n: int) -> float:
    import httpx

    payloads = _raw_payloads(n)
    started = time.perf_counter()
    with httpx.Client() as client:
        for payload in payloads:
            client.post(url, json=payload).read()
    return n / (time.perf_counter() - started)


async def raw_httpx_async_loop(url: str, n: int, in_flight: int = 50) -> float:
    import httpx

    queue = iter(_raw_payloads(n))
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker():
            for payload in queue:
                (await client.post(url, json=payload)).read()

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return n / (time.perf_counter() - started)


def bench_sending(merchant, channel, template, segment, consented: int, env: dict, fake_base: str) -> None:
    import httpx

    from apps.campaigns.models import Campaign, Delivery
    from apps.campaigns.services import campaign_launch
    from portal.celery import app

    app.control.purge()
    workers = start_workers(env, Path(env["CHARLA_VAR_DIR"]))
    try:
        time.sleep(4)  # worker start-up is not part of the figure
        httpx.post(f"{fake_base}/reset")
        campaign = new_campaign(merchant, channel, template, segment, "send")
        started = time.perf_counter()
        campaign_launch(campaign=campaign)
        deadline = started + 600
        while Campaign.objects.get(pk=campaign.pk).status != "completed" and time.perf_counter() < deadline:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        stop(workers)
    stats = fake_stats(fake_base)
    sent = Delivery.objects.filter(campaign=campaign, state="sent").count()
    emit(
        figure="send_end_to_end",
        workers=2,
        audience=Delivery.objects.filter(campaign=campaign).count(),
        consented=consented,
        sent=sent,
        provider_requests=stats["requests"],
        max_per_recipient=stats["max_per_recipient"],
        seconds=round(elapsed, 2),
        sent_per_s=round(sent / elapsed),
    )
    url = f"{fake_base}/v21.0/1000/messages"
    httpx_sync = raw_httpx_sync_loop(url, 10000)
    emit(figure="send_raw_httpx_sync_baseline", requests=10000, in_flight=1, per_s=round(httpx_sync))
    httpx_async = asyncio.run(raw_httpx_async_loop(url, 5000))
    emit(figure="send_raw_httpx_async_baseline", requests=5000, in_flight=50, per_s=round(httpx_async))
    aiohttp_rate = asyncio.run(raw_aiohttp_loop(url, 30000))
    emit(figure="send_raw_aiohttp_baseline", requests=30000, in_flight=50, per_s=round(aiohttp_rate))
    rate = sent / elapsed
    emit(
        figure="send_vs_raw",
        baseline="httpx (the faster loop)",
        ratio=round(rate / max(httpx_sync, httpx_async), 2),
        aim=">= 0.5 and >= 1000/s",
    )
    emit(figure="send_vs_raw_aiohttp", baseline="aiohttp, 50 in flight", ratio=round(rate / aiohttp_rate, 2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database", default="charla_bench_campaigns")
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--serve-fake", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return
    base_url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    recreate_database(base_url, args.database)
    fake_base = f"http://127.0.0.1:{args.port}"
    var_dir = ROOT / "var" / "bench"
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(base_url, args.database),
        "REDIS_URL": redis_url,
        "META_GRAPH_API_URL": f"{fake_base}/v21.0",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        # As deployed: DEBUG wraps every cursor to record each query in memory (about 10% of a worker here).
        # BENCH_DJANGO_DEBUG=true measures the old way for comparison.
        "DJANGO_DEBUG": os.environ.get("BENCH_DJANGO_DEBUG", "false"),
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "bench-only-" + secrets.token_hex(24),
        "CHARLA_ENCRYPTION_KEYS": os.environ.get("CHARLA_ENCRYPTION_KEYS")
        or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "CHARLA_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    fake = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(args.port)], start_new_session=True)
    try:
        import django

        django.setup()
        started = time.perf_counter()
        merchant, channel, template, segment, ids, consented = populate(args.contacts)
        emit(figure="setup", contacts=len(ids), consented=consented, seconds=round(time.perf_counter() - started, 1))
        bench_ledger(merchant, channel, template, segment, ids)
        bench_sending(merchant, channel, template, segment, consented, env, fake_base)
    finally:
        stop([fake])


if __name__ == "__main__":
    main()
