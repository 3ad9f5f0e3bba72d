"""Contact CSV import speed beside a raw bulk insert of the same rows, in the same run.

Usage: DATABASE_URL=postgres://... python bench/contacts_import.py [--rows 10000]
Prints one JSON line per figure. Everything runs inside a transaction that is rolled back, so
the database is left as it was (the consent ledger refuses deletes, by design).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
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

from apps.contacts.services.imports import contact_import_run, contact_import_upload  # noqa: E402
from apps.merchants.models import Merchant  # noqa: E402

MAPPING = {
    "name": "name", "phone": "phone", "email": "email", "tags": "tags", "consent": "consent_action",
    "consent_date": "consent_date", "consent_wording": "consent_wording", "consent_source": "consent_source",
}  # fmt: skip


class Rollback(Exception):
    pass


def make_csv(rows: int) -> str:
    lines = ["name,phone,email,tags,consent,consent_date,consent_wording,consent_source"]
    for i in range(rows):
        consent = "grant,2026-01-05T10:00:00Z,Acme may send me offers on WhatsApp,shop form" if i % 2 else ",,,"
        lines.append(f"Person {i},+3460{i:07d},p{i}@example.test,vip,{consent}")
    return "\n".join(lines) + "\n"


def raw_insert(merchant: Merchant, rows: int) -> float:
    """The floor: the same contact rows written with COPY (PostgreSQL) or executemany (SQLite)."""
    values = [(merchant.pk, f"Person {i}", f"+3470{i:07d}", f"p{i}@example.test") for i in range(rows)]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = (
                "COPY contacts_contact (merchant_id, name, phone, email, phone_timezone, timezone, locale, tags, "
                "attributes, created_at, updated_at) FROM STDIN"
            )
            with cursor.cursor.copy(sql) as copy:
                for merchant_id, name, phone, email in values:
                    copy.write_row((merchant_id, name, phone, email, "", "", "", '["vip"]', "{}", "now", "now"))
        else:
            cursor.executemany(
                "INSERT INTO contacts_contact (merchant_id, name, phone, email, phone_timezone, timezone, locale, "
                "tags, attributes, created_at, updated_at) VALUES (%s, %s, %s, %s, '', '', '', '[\"vip\"]', '{}', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                values,
            )
    return time.perf_counter() - started


def phone_floor(rows: int) -> float:
    """Parsing and validating the phones alone: the part of an import no insert method avoids."""
    import phonenumbers

    started = time.perf_counter()
    for i in range(rows):
        phonenumbers.is_valid_number(phonenumbers.parse(f"+3460{i:07d}", None))
    return time.perf_counter() - started


def run(rows: int) -> None:
    text = make_csv(rows)
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(name="Bench", slug=f"bench-import-{os.getpid()}")
            started = time.perf_counter()
            imp = contact_import_upload(merchant=merchant, data=text.encode(), filename="bench.csv")
            report = contact_import_run(contact_import=imp, mapping=MAPPING, defaults={"consent_channel": "whatsapp"})
            import_seconds = time.perf_counter() - started
            assert report.ok and report.created == rows, report.errors[:3]
            raw_seconds = raw_insert(merchant, rows)
            emit("contacts_import", rows, import_seconds, consents=report.consents)
            emit("raw_bulk_insert_baseline", rows, raw_seconds, method="COPY" if connection.vendor == "postgresql"
                 else "executemany")  # fmt: skip
            emit("phone_validation_floor", rows, phone_floor(rows))
            print(json.dumps({"bench": "ratio", "import_vs_raw": round(import_seconds / raw_seconds, 1)}))
            raise Rollback
    except Rollback:
        pass


def emit(name: str, rows: int, seconds: float, **extra) -> None:
    line = {"bench": name, "db": connection.vendor, "rows": rows, "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds), **extra}  # fmt: skip
    print(json.dumps(line))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    run(parser.parse_args().rows)
