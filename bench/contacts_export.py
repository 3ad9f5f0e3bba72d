"""The contacts CSV export at a million contacts, beside a raw `COPY (SELECT ...) TO STDOUT` of the same columns.

Usage: DATABASE_URL=postgres://... python bench/contacts_export.py [--rows 1000000]
Prints JSON lines: rows/s of each, the export's as a ratio to COPY's, and the process's peak RSS after each
(the export runs second, so a growth of its peak over COPY's is the memory the export holds). Rows are
generated set-based (bench/contacts_list.py's seed plus a WhatsApp identity each) inside a transaction that is
rolled back at the end. PostgreSQL only.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# isort: off
from bench.contacts_list import Rollback, seed  # first: it sets Django up
from django.db import connection, transaction

from apps.contacts.services.contact_csv import contacts_csv
from apps.merchants.models import Merchant

# isort: on

COLUMNS = ["id", "name", "phone", "email", "whatsapp_id", "tags", "created_at", "consent_whatsapp_marketing"]
RAW = """COPY (SELECT c.id, c.name, c.phone, c.email, i.external_id, c.tags, c.created_at, s.status, s.since
               FROM contacts_contact c
               LEFT JOIN contacts_contactidentity i ON i.contact_id = c.id AND i.kind = 'whatsapp'
               LEFT JOIN contacts_consentstate s ON s.contact_id = c.id AND s.channel = 'whatsapp'
                                                 AND s.purpose = 'marketing'
               WHERE c.merchant_id = %s AND c.erased_at IS NULL AND c.merged_into_id IS NULL
               ORDER BY c.id DESC) TO STDOUT WITH CSV HEADER"""


def emit(name: str, **figures) -> None:
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    print(json.dumps({"bench": f"contacts_export.{name}", "db": connection.vendor, **figures}), flush=True)


def identities(merchant: Merchant) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_contactidentity (merchant_id, contact_id, kind, external_id, created_at)
               SELECT merchant_id, id, 'whatsapp', substr(phone, 2), now()
               FROM contacts_contact WHERE merchant_id = %s""",
            [merchant.pk],
        )
        cursor.execute("ANALYZE contacts_contactidentity")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def raw_copy(merchant: Merchant) -> tuple[int, int]:
    size = lines = 0
    with connection.cursor() as cursor, cursor.cursor.copy(RAW, [merchant.pk]) as copy:
        for block in copy:
            size += len(block)
            lines += bytes(block).count(b"\n")
    return lines - 1, size


def export(merchant: Merchant, user) -> tuple[int, int]:
    size = lines = 0
    for line in contacts_csv(merchant=merchant, filters={}, columns=COLUMNS, user=user):
        size += len(line.encode())
        lines += 1
    return lines - 1, size


def measure(name: str, fn, rows: int, baseline: float | None = None) -> float:
    started = time.perf_counter()
    written, size = fn()
    seconds = time.perf_counter() - started
    assert written == rows, (name, written, rows)
    rate = rows / seconds
    extra = {"vs_baseline": round(baseline / rate, 2)} if baseline else {}
    emit(name, rows=rows, seconds=seconds, rows_per_s=round(rate), mb=round(size / 2**20, 1),
         peak_rss_mb=round(peak_rss_mb(), 1), **extra)  # fmt: skip
    return rate


def run(rows: int) -> None:
    from apps.accounts.models import User

    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(name="Bench", slug="bench-export")
            user = User.objects.create(email="bench-export@example.test")
            started = time.perf_counter()
            seed(merchant, rows)
            identities(merchant)
            emit("seed", rows=rows, seconds=time.perf_counter() - started, peak_rss_mb=round(peak_rss_mb(), 1))
            baseline = measure("raw_copy_baseline", lambda: raw_copy(merchant), rows)
            # vs_baseline: how many times slower than COPY the export is.
            measure("export_csv", lambda: export(merchant, user), rows, baseline=baseline)
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    run(parser.parse_args().rows)
