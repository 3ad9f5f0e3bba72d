"""Reports over a month of history: how long each report takes, beside its own SQL alone.

    .venv/bin/python bench/reports.py [--conversations 100000] [--messages 1000000] [--runs 5] [--keep]

Creates its own PostgreSQL database (charla_reports_bench; BENCH_PG names the server), migrates it and seeds it
set-based: the conversations spread over the last 30 days on three channels and three agents (one in four
unassigned), their messages alternating customer / member (every fifth conversation's first answer is a bot's),
a resolution for three in four and a reopening and second resolution for one in twenty, business hours
Monday-Friday 09:00-17:00. Each report selector (as the API calls it, for the last 30 days) is timed, median of
`--runs`, and printed as one JSON line beside `raw_sql_ms`: the very queries it ran, captured and replayed
through psycopg with every row fetched. `ratio` is the report over its raw SQL: what the Python side (samples,
business-time arithmetic, summaries) costs on top of the database. Drops its database at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import seeded_db  # noqa: E402
from bench.seeded_db import database, raw_all, timed, use_database  # noqa: E402

DB_NAME = "charla_reports_bench"
use_database(DB_NAME)


def emit(name: str, **figures) -> None:
    seeded_db.emit("reports", name, **figures)


def fixtures() -> dict:
    from apps.accounts.models import User
    from apps.conversations.models import Channel
    from apps.core.roles import Role
    from apps.merchants.models import Membership, Merchant
    from apps.tickets.models import BusinessHours

    merchant = Merchant.objects.create(name="Bench shop", slug="bench-reports", timezone="Europe/Madrid")
    agents = [User.objects.create_user(f"agent{i}@bench.test", "bench-password-123") for i in range(3)]
    for agent in agents:
        Membership.objects.create(merchant=merchant, user=agent, role=Role.AGENT)
    channels = [
        Channel.objects.create(merchant=merchant, kind="webchat", name="Web"),
        Channel.objects.create(merchant=merchant, kind="whatsapp", name="WhatsApp", phone_number_id="209300000001"),
        Channel.objects.create(merchant=merchant, kind="messenger", name="Messenger", page_id="118200000001"),
    ]
    BusinessHours.objects.create(
        merchant=merchant, name="Office", timezone="Europe/Madrid", is_default=True,
        periods=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
    )  # fmt: skip
    return {"merchant": merchant, "agents": agents, "channels": channels}


SEED = """
INSERT INTO contacts_contact (merchant_id, name, phone, email, timezone, phone_timezone, locale, tags, attributes,
    created_at, updated_at)
SELECT %(m)s, 'Contact ' || g, '+3460' || lpad(g::text, 7, '0'), '', '', '', '', '[]', '{}', now(), now()
FROM generate_series(1, %(n)s) g;

INSERT INTO conversations_conversation (merchant_id, channel_id, contact_id, visitor_id, status, assignee_id, labels,
    priority, last_message_preview, last_message_at, unread_count, created_at, updated_at)
SELECT %(m)s, (%(channels)s::bigint[])[1 + c.id %% 3], c.id, '', 'resolved',
       (%(agents)s::bigint[])[1 + (c.id / 3) %% 4], '[]', 'none', '', now(),
       0, now() - ((c.id * 7919 %% 43200) || ' minutes')::interval, now()
FROM contacts_contact c WHERE c.merchant_id = %(m)s;
"""

SEED_MESSAGES = """
INSERT INTO conversations_message (merchant_id, conversation_id, channel_id, direction, author_kind, author_id, kind,
    body, attachments, provider_message_id, status, error_code, error_message, template_name, template_language,
    template_params, messaging_type, tag, automated, metadata, send_attempts, created_at)
SELECT %(m)s, conv.id, conv.channel_id,
       CASE WHEN t.k %% 2 = 0 THEN 'inbound' ELSE 'outbound' END,
       CASE WHEN t.k %% 2 = 0 THEN 'contact' WHEN t.k = 1 AND conv.id %% 5 = 0 THEN 'bot' ELSE 'agent' END,
       CASE WHEN t.k %% 2 = 1 AND NOT (t.k = 1 AND conv.id %% 5 = 0) THEN conv.assignee_id END, 'text',
       'message ' || t.g, '[]', '', CASE WHEN t.k %% 2 = 0 THEN 'received' ELSE 'sent' END, '', '', '', '', '{}',
       '', '', t.k = 1 AND conv.id %% 5 = 0, '{}', 0,
       conv.created_at + ((t.k * (3 + conv.id %% 90)) || ' minutes')::interval
FROM (SELECT g, %(first)s + (g %% %(n)s) AS conversation_id, g / %(n)s AS k FROM generate_series(0, %(total)s - 1) g) t
JOIN conversations_conversation conv ON conv.id = t.conversation_id;

INSERT INTO conversations_conversationlifecycleevent (merchant_id, conversation_id, kind, assignee_id, at)
SELECT %(m)s, id, 'resolved', assignee_id, created_at + ((30 + id %% 600) || ' minutes')::interval
FROM conversations_conversation WHERE merchant_id = %(m)s AND id %% 4 <> 0
UNION ALL
SELECT %(m)s, id, 'reopened', assignee_id, created_at + ((90 + id %% 600) || ' minutes')::interval
FROM conversations_conversation WHERE merchant_id = %(m)s AND id %% 20 = 1
UNION ALL
SELECT %(m)s, id, 'resolved', assignee_id, created_at + ((150 + id %% 600) || ' minutes')::interval
FROM conversations_conversation WHERE merchant_id = %(m)s AND id %% 20 = 1;
"""


def seed(world: dict, *, conversations: int, messages: int) -> None:
    from django.db import connection

    merchant = world["merchant"]
    params = {
        "m": merchant.pk, "n": conversations, "total": messages,
        "channels": [c.pk for c in world["channels"]], "agents": [a.pk for a in world["agents"]],
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(SEED, params)
        cursor.execute("SELECT min(id) FROM conversations_conversation WHERE merchant_id = %s", [merchant.pk])
        params["first"] = cursor.fetchone()[0]
        cursor.execute(SEED_MESSAGES, params)
    for table in ("conversations_conversation", "conversations_message", "conversations_conversationlifecycleevent"):
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")


def captured(fn) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fn()
    return [q["sql"] for q in queries.captured_queries]


def bench_reports(world: dict, runs: int) -> None:
    from apps.reports import selectors
    from apps.reports.ranges import range_parse

    merchant = world["merchant"]
    period = range_parse(params={}, tz=merchant.tz, required=False)
    for name in ("conversation_report", "agent_report", "csat_report", "sla_report", "consent_report"):
        selector = getattr(selectors, name)

        def run(selector=selector):
            return selector(merchant=merchant, period=period)

        sql = captured(run)
        report_ms = timed(run, runs)
        raw_ms = raw_all(sql, runs)
        emit(name, ms=report_ms, raw_sql_ms=raw_ms, ratio=report_ms / raw_ms, queries=len(sql))
    report = selectors.conversation_report(merchant=merchant, period=period)
    emit("volume", started=report["started"], resolved=report["resolved"],
         first_responses=report["first_response_seconds"]["count"])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN (drop it by hand)")
    args = parser.parse_args()
    database(DB_NAME, "create")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        world = fixtures()
        started = time.perf_counter()
        seed(world, conversations=args.conversations, messages=args.messages)
        emit("seed", conversations=args.conversations, messages=args.messages, seconds=time.perf_counter() - started)
        bench_reports(world, args.runs)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database(DB_NAME, "drop")


if __name__ == "__main__":
    main()
