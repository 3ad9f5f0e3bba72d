"""The inbox at size: 100,000 conversations and 1,000,000 messages in one merchant.

    .venv/bin/python bench/inbox.py [--conversations 100000] [--messages 1000000] [--big 50000] [--runs 7] [--keep]

Creates its own PostgreSQL database (charla_inbox_bench; BENCH_PG names the server), migrates it and seeds it
set-based (INSERT … SELECT generate_series): the conversations over three channels, four statuses, three
agents and unassigned, a label on one in ten; one conversation with `--big` messages and a contact with as
many consent events. Then, through the Django test client as an agent (the view, its selector and template,
as a request runs them), it times the inbox list for every view and filter, the conversation's history and
the contact page, each at the first page and at a deep cursor (the 1,000th page, or the middle of a smaller
list). Each figure is the median of `--runs` and is printed as one JSON line beside:
  - `deep_vs_first`: the deep page's time over the first page's (the target is ≤ 1.2);
  - `raw_first_ms` / `raw_deep_ms`: the page's own SQL (captured from the view) run through psycopg alone;
  - the number of queries of each request (equal at both depths).
The whole pages (the inbox with its tab counts, the open 50,000-message conversation, the contact page) are timed
beside all their SQL replayed through psycopg (`raw_sql_ms`), with the slowest query named.
Drops its database at the end (`--keep` leaves it for EXPLAIN ANALYZE). Bounded: about a minute of seeding
and a minute of timing on two cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import seeded_db  # noqa: E402
from bench.seeded_db import database, raw_all, timed, use_database  # noqa: E402

DB_NAME = "charla_inbox_bench"
use_database(DB_NAME)


def emit(name: str, **figures) -> None:
    seeded_db.emit("inbox", name, **figures)


# --------------------------------------------------------------------------- seeding
def fixtures() -> dict:
    from apps.accounts.models import User
    from apps.contacts.models import Contact
    from apps.conversations.models import Channel
    from apps.core.roles import Role
    from apps.merchants.models import Membership, Merchant

    merchant = Merchant.objects.create(name="Bench shop", slug="bench-inbox")
    agents = [User.objects.create_user(f"agent{i}@bench.test", "bench-password-123") for i in range(3)]
    for agent in agents:
        Membership.objects.create(merchant=merchant, user=agent, role=Role.AGENT)
    channels = [Channel.objects.create(merchant=merchant, kind="webchat", name=f"Web {i}") for i in range(3)]
    big_contact = Contact.objects.create(merchant=merchant, name="Maria Big", phone="+34699000000")
    return {"merchant": merchant, "agents": agents, "channels": channels, "big_contact": big_contact}


SEED_CONVERSATIONS = """
INSERT INTO contacts_contact (merchant_id, name, phone, email, timezone, phone_timezone, locale, tags, attributes,
    created_at, updated_at)
SELECT %(m)s, 'Contact ' || g, '+3460' || lpad(g::text, 7, '0'), '', '', '', '', '[]', '{}', now(), now()
FROM generate_series(1, %(n)s - 1) g;

INSERT INTO conversations_conversation (merchant_id, channel_id, contact_id, visitor_id, status, assignee_id, labels,
    priority, last_message_preview, last_message_at, unread_count, created_at, updated_at)
SELECT %(m)s, (%(channels)s::bigint[])[1 + c.id %% 3], c.id, 'v_bench_' || c.id,
       CASE WHEN c.id %% 4 = 0 THEN 'open' WHEN c.id %% 4 = 1 THEN 'pending' WHEN c.id %% 4 = 2 THEN 'snoozed'
            ELSE 'resolved' END,
       (%(agents)s::bigint[])[1 + (c.id / 4) %% 4],  -- one in four falls off the array's end: unassigned
       CASE WHEN c.id %% 10 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END, 'none',
       'last words of ' || c.id, now() - (c.id || ' minutes')::interval, 0, now(), now()
FROM contacts_contact c WHERE c.merchant_id = %(m)s;
"""

SEED_MESSAGES = """
INSERT INTO conversations_message (merchant_id, conversation_id, channel_id, direction, author_kind, kind, body,
    attachments, provider_message_id, status, error_code, error_message, template_name, template_language,
    template_params, messaging_type, tag, automated, metadata, send_attempts, created_at)
SELECT %(m)s, conv.id, conv.channel_id, 'inbound', 'contact', 'text', 'message ' || g, '[]', '', 'received', '', '',
       '', '', '{}', '', '', false, '{}', 0, now() - ((%(total)s - g) || ' seconds')::interval
FROM generate_series(1, %(total)s) g
JOIN LATERAL (SELECT id, channel_id FROM conversations_conversation
              WHERE merchant_id = %(m)s AND contact_id = CASE WHEN g <= %(big)s THEN %(big_contact)s
                    ELSE %(first_contact)s + (g %% (%(n)s - 1)) END) conv ON true;
"""

SEED_LEDGER = """
INSERT INTO contacts_consentevent (merchant_id, contact_id, channel, purpose, action, source, wording, evidence_url,
    evidence_message_id, user_agent, actor_label, collected_via, resulting_status, occurred_at, recorded_at)
SELECT %(m)s, %(big_contact)s, 'whatsapp', 'marketing', CASE WHEN g %% 2 = 0 THEN 'grant' ELSE 'revoke' END,
       'web_form', 'Offers on WhatsApp', '', '', '', 'bench', '',
       CASE WHEN g %% 2 = 0 THEN 'granted' ELSE 'revoked' END, now() - ((%(big)s - g) || ' seconds')::interval, now()
FROM generate_series(1, %(big)s) g;
"""


def seed(world: dict, *, conversations: int, messages: int, big: int) -> None:
    from django.db import connection

    merchant, contact = world["merchant"], world["big_contact"]
    params = {
        "m": merchant.pk, "n": conversations, "total": messages, "big": big, "big_contact": contact.pk,
        "channels": [c.pk for c in world["channels"]], "agents": [a.pk for a in world["agents"]],
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(SEED_CONVERSATIONS, params)
        cursor.execute(
            "SELECT min(id) FROM contacts_contact WHERE merchant_id = %s AND id <> %s", [merchant.pk, contact.pk]
        )
        params["first_contact"] = cursor.fetchone()[0]
        cursor.execute(SEED_MESSAGES, params)
        cursor.execute(SEED_LEDGER, params)
    for table in ("conversations_conversation", "conversations_message", "contacts_contact", "contacts_consentevent"):
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")


# --------------------------------------------------------------------------- timing


def request(client, path: str, params: dict, headers: dict) -> tuple[list[dict], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params, **headers)
    if response.status_code != 200:
        raise SystemExit(f"{path} {params} answered {response.status_code}")
    return queries.captured_queries, len(queries.captured_queries)


def page_sql(queries: list[dict], marker: str) -> str:
    """The page's own query among the request's (session, membership… are the same at any depth)."""
    return next(q["sql"] for q in queries if marker in q["sql"] and "LIMIT" in q["sql"])


def raw(sql: str, runs: int) -> float:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        return timed(lambda: conn.execute(sql).fetchall(), runs)


HTMX = {"HTTP_HX_REQUEST": "true"}


def compare(
    name: str, client, path: str, first: dict, deep: dict, *, marker: str, runs: int, depth: int,
    first_headers: dict, deep_headers: dict,
) -> None:  # fmt: skip
    first_queries, first_count = request(client, path, first, first_headers)
    deep_queries, deep_count = request(client, path, deep, deep_headers)
    first_ms = timed(lambda: client.get(path, first, **first_headers), runs)
    deep_ms = timed(lambda: client.get(path, deep, **deep_headers), runs)
    raw_first = raw(page_sql(first_queries, marker), runs)
    raw_deep = raw(page_sql(deep_queries, marker), runs)
    emit(
        name, first_ms=first_ms, deep_ms=deep_ms, deep_vs_first=deep_ms / first_ms, raw_first_ms=raw_first,
        raw_deep_ms=raw_deep, raw_deep_vs_first=raw_deep / raw_first, queries_first=first_count,
        queries_deep=deep_count, depth=depth,
    )  # fmt: skip


INBOX_CASES = {
    "all_open": {"view": "all", "status": "open"},
    "all_any_status": {"view": "all", "status": ""},
    "status_resolved": {"view": "all", "status": "resolved"},
    "mine_open": {"view": "mine", "status": "open"},
    "mine_any_status": {"view": "mine", "status": ""},
    "unassigned_open": {"view": "unassigned", "status": "open"},
    "unassigned_any_status": {"view": "unassigned", "status": ""},
    "assignee_pending": {"view": "all", "status": "pending", "assignee": "AGENT"},
    "channel_open": {"view": "all", "status": "open", "channel": "CHANNEL"},
    "channel_any_status": {"view": "all", "status": "", "channel": "CHANNEL"},
    "label_vip_any_status": {"view": "all", "status": "", "label": "vip"},
    "search_contact_name": {"view": "all", "status": "", "q": "Contact 12"},
}


def deep_cursor(world: dict, user, params: dict, pages: int, size: int) -> tuple[str, int]:
    """The cursor of page `pages` (or of the middle of a shorter list), found once with OFFSET: setup only."""
    from apps.conversations import selectors

    qs = selectors.conversation_filter(
        selectors.conversation_queryset(merchant=world["merchant"]), user=user, view=params["view"],
        status=params["status"] or None, channel_id=params.get("channel"), label=params.get("label"),
        assignee_id=params.get("assignee"), search=params.get("q"),
    ).order_by("-last_message_at", "-id")  # fmt: skip
    total = qs.count()
    depth = min(pages * size, total // 2)
    return selectors.cursor_encode(qs[depth - 1]), depth


def bench_inbox(client, world: dict, runs: int) -> None:
    from apps.conversations.views.inbox import LIST_LIMIT

    user = world["agents"][1]
    for name, case in INBOX_CASES.items():
        params = {k: v for k, v in case.items() if v != ""} | {"status": case["status"]}
        params = {
            k: {"AGENT": world["agents"][1].pk, "CHANNEL": world["channels"][1].pk}.get(v, v) for k, v in params.items()
        }
        cursor, depth = deep_cursor(world, user, params, 1000, LIST_LIMIT)
        first_headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "conversation-list"}  # the list, no tabs
        compare(
            f"list.{name}", client, "/inbox/", params, params | {"before": cursor}, marker="conversations_conversation",
            runs=runs, first_headers=first_headers, deep_headers=HTMX, depth=depth,
        )  # fmt: skip
    whole_page("inbox.page", client, "/inbox/", runs=runs)  # the default tab (All, open) with its counts


def bench_history(client, world: dict, runs: int, big: int) -> None:
    from apps.conversations.models import Conversation, Message
    from apps.conversations.views.conversation import HISTORY_PAGE

    conversation = Conversation.objects.get(contact=world["big_contact"])
    ids = Message.objects.filter(conversation=conversation).order_by("-id").values_list("id", flat=True)
    depth = min(1000 * HISTORY_PAGE, big // 2)
    path = f"/inbox/c/{conversation.pk}/messages/"
    compare(
        "conversation.history", client, path, {"before": ids[HISTORY_PAGE]}, {"before": ids[depth]},
        marker="conversations_message", runs=runs, depth=depth, first_headers=HTMX, deep_headers=HTMX,
    )  # fmt: skip
    whole_page("conversation.page", client, f"/inbox/c/{conversation.pk}/", runs=runs)


def whole_page(name: str, client, path: str, *, runs: int) -> None:
    """A full page load (the inbox with its tab counts, the open conversation, the contact page) beside all its
    SQL replayed through psycopg alone: what is left is Python (view, forms, templates). The slowest query
    names what to look at next."""
    queries, count = request(client, path, {}, {})
    ms = timed(lambda: client.get(path), runs)
    sql = [q["sql"] for q in queries]
    raw_ms = raw_all(sql, runs)
    slowest = max(sql, key=lambda one: raw_all([one], 3))
    emit(name, ms=ms, raw_sql_ms=raw_ms, page_vs_raw_sql=ms / raw_ms, queries=count, slowest_sql=slowest[:120])


def bench_contact(client, world: dict, runs: int, big: int) -> None:
    from apps.contacts import selectors
    from apps.contacts.views import LEDGER_PAGE
    from apps.core import keyset

    contact = world["big_contact"]
    depth = min(1000 * LEDGER_PAGE, big // 2)
    row = selectors.consent_event_list(contact=contact)[depth - 1]
    cursor = keyset.cursor_encode(row=row, fields=selectors.LEDGER_ORDER)
    compare(
        "contact.page", client, f"/contacts/{contact.pk}/", {}, {"ledger_before": cursor},
        marker="contacts_consentevent", runs=runs, depth=depth, first_headers={}, deep_headers={},
    )  # fmt: skip
    whole_page("contact.whole_page", client, f"/contacts/{contact.pk}/", runs=runs)


def explain(world: dict) -> None:
    """Each inbox list's plan at size: the index it walks (a Sort node would mean it reads the whole list)."""
    from django.db import connection

    from apps.conversations import selectors

    user = world["agents"][1]
    for name, case in INBOX_CASES.items():
        params = {k: {"AGENT": user.pk, "CHANNEL": world["channels"][1].pk}.get(v, v) for k, v in case.items()}
        page = selectors.conversation_filter(
            selectors.conversation_queryset(merchant=world["merchant"]), user=user, view=params["view"],
            status=params["status"] or None, channel_id=params.get("channel"), label=params.get("label"),
            assignee_id=params.get("assignee"), search=params.get("q"),
        ).order_by("-last_message_at", "-id")[:51]  # fmt: skip
        sql, sql_params = page.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", sql_params)
            plan = cursor.fetchone()[0]
        emit(f"plan.{name}", nodes=_nodes(plan[0]["Plan"]))


def _nodes(plan: dict) -> list[str]:
    label = plan["Node Type"] + (f" {plan['Index Name']}" if "Index Name" in plan else "")
    return [label, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="leave the database for EXPLAIN (drop it by hand)")
    args = parser.parse_args()
    database(DB_NAME, "create")
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import override_settings

        # The pages link their CSS; the bench has not run collectstatic, so plain (unhashed) static names.
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        override_settings(STORAGES=storages).enable()

        call_command("migrate", verbosity=0)
        world = fixtures()
        started = time.perf_counter()
        seed(world, conversations=args.conversations, messages=args.messages, big=args.big)
        emit("seed", conversations=args.conversations, messages=args.messages, seconds=time.perf_counter() - started)
        explain(world)
        client = Client()
        client.force_login(world["agents"][1])
        bench_inbox(client, world, args.runs)
        bench_history(client, world, args.runs, args.big)
        bench_contact(client, world, args.runs, args.big)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database(DB_NAME, "drop")


if __name__ == "__main__":
    main()
