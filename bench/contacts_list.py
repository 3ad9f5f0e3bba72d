"""Contact list pages at a million contacts: each figure beside a raw primary-key page of the same size.

Usage: DATABASE_URL=postgres://... python bench/contacts_list.py [--rows 1000000]
Prints JSON lines (median of 5 runs per query). Rows are generated set-based inside a transaction
that is rolled back at the end. PostgreSQL only (the production database).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# A bench is not a deploy: settings refuse to start without a key, so it brings a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + secrets.token_hex(24))
os.environ.setdefault("CHARLA_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from apps.contacts.selectors import consent_status_subquery, contact_list  # noqa: E402
from apps.merchants.models import Merchant  # noqa: E402

PAGE = 51
NAMES = """
Ana Bea Carlos Diego Elena Fatima Gabriel Hugo Ines Javier Karim Laura Maria Nuria Oscar Pablo Quim Rosa Sofia Tomas
Ursula Victor Wei Ximena Yago Zoe Alba Bruno Clara Dario Eva Felix Gloria Hector Irene Jorge Kenji Lucia Marco Noa
Garcia Lopez Martin Sanchez Perez Gomez Ruiz Diaz Moreno Alvarez Romero Navarro Torres Dominguez Vazquez Ramos Gil
Serrano Blanco Molina Castro Ortiz Rubio Marin Sanz Nunez Iglesias Medina Garrido Cortes Castillo Santos Lozano
Guerrero Cano Prieto Mendez Cruz Calvo Gallego
"""
FIRST, LAST = NAMES.split()[:40], NAMES.split()[40:]


class Rollback(Exception):
    pass


def seed(merchant: Merchant, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_contact (merchant_id, name, phone, email, phone_timezone, timezone, locale, tags,
                   attributes, created_at, updated_at)
               SELECT %s, (%s::text[])[1 + g %% 40] || ' ' || (%s::text[])[1 + (g / 40) %% 40] || ' ' || g,
                      '+3460' || lpad(g::text, 7, '0'), 'p' || g || '@example.test', '', '', '',
                      CASE WHEN g %% 10 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END, '{}'::jsonb, now(), now()
               FROM generate_series(1, %s) g""",
            [merchant.pk, FIRST, LAST, rows],
        )
        cursor.execute(
            """INSERT INTO contacts_consentevent (merchant_id, contact_id, channel, purpose, action, source, wording,
                   evidence_url, evidence_message_id, user_agent, actor_label, collected_via, resulting_status,
                   occurred_at, recorded_at)
               SELECT merchant_id, id, 'whatsapp', 'marketing', 'grant', 'import', 'Offers on WhatsApp', '', '', '',
                      'bench', '', 'granted', now(), now()
               FROM contacts_contact WHERE merchant_id = %s AND id %% 5 = 0""",
            [merchant.pk],
        )
        cursor.execute(
            """INSERT INTO contacts_consentstate
                   (merchant_id, contact_id, channel, purpose, status, since, last_event_id)
               SELECT merchant_id, contact_id, channel, purpose, resulting_status, occurred_at, id
               FROM contacts_consentevent WHERE merchant_id = %s""",
            [merchant.pk],
        )
        cursor.execute("ANALYZE contacts_contact; ANALYZE contacts_consentstate; ANALYZE contacts_contactidentity")


def timed(fn) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def page(qs):
    return lambda: list(qs.annotate(consent=consent_status_subquery(channel="whatsapp", purpose="marketing"))[:PAGE])


def raw_page(merchant_id: int, after: int | None = None):
    def run():
        with connection.cursor() as cursor:
            where = "AND id < %s" if after else ""
            cursor.execute(
                f"SELECT * FROM contacts_contact WHERE merchant_id = %s {where} ORDER BY id DESC LIMIT {PAGE}",
                [merchant_id, after] if after else [merchant_id],
            )
            cursor.fetchall()

    return run


def run(rows: int) -> None:
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(name="Bench", slug=f"bench-list-{os.getpid()}")
            started = time.perf_counter()
            seed(merchant, rows)
            emit("seed", rows=rows, seconds=time.perf_counter() - started)
            middle = contact_list(merchant=merchant).values_list("pk", flat=True)[rows // 2]
            baseline = timed(raw_page(merchant.pk))
            emit("raw_pk_page_baseline", seconds=baseline)
            emit("raw_pk_page_deep_baseline", seconds=timed(raw_page(merchant.pk, middle)))
            cases = {
                "list_first_page": contact_list(merchant=merchant),
                "list_deep_page": contact_list(merchant=merchant).filter(pk__lt=middle),
                "filter_tag": contact_list(merchant=merchant, tag="vip"),
                "filter_consent_granted": contact_list(merchant=merchant, consent=("whatsapp", "marketing", "granted")),
                "filter_consent_none": contact_list(merchant=merchant, consent=("whatsapp", "marketing", "none")),
                "search_phone": contact_list(merchant=merchant, q="+34600500000"),
                "search_name_common_2pct": contact_list(merchant=merchant, q="maria"),
                "search_name_rare": contact_list(merchant=merchant, q="Maria Lopez 5"),
                "search_name_absent_full_scan": contact_list(merchant=merchant, q="Nobody"),
            }
            for name, qs in cases.items():
                seconds = timed(page(qs))
                emit(name, seconds=seconds, vs_baseline=round(seconds / baseline, 1))
            raise Rollback
    except Rollback:
        pass


def emit(name: str, **figures) -> None:
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    print(json.dumps({"bench": f"contacts_list.{name}", "db": connection.vendor, **figures}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    run(parser.parse_args().rows)
