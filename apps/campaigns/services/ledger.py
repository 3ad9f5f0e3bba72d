"""Building the delivery ledger: one row per (campaign, contact), set-based and idempotent."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from apps.campaigns.models import Campaign, Delivery
from apps.campaigns.segment_rules import rules_queryset

# Contact-id range per statement: bounded work and lock time per INSERT, and the first senders start
# after the first chunk (about 0.3 s for 20,000 contacts here) instead of after the whole audience.
CHUNK_IDS = 20_000


def _insert_chunk_postgres(campaign: Campaign, contacts, now) -> int:
    select_sql, params = contacts.values("id").query.sql_with_params()
    table = Delivery._meta.db_table
    sql = (
        f"INSERT INTO {table} (merchant_id, campaign_id, contact_id, not_before) "  # noqa: S608 - ours
        f"SELECT %s, %s, s.id, %s FROM ({select_sql}) s "
        "ON CONFLICT (campaign_id, contact_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.merchant_id, campaign.pk, now, *params])
        return cursor.rowcount


def _insert_chunk_portable(campaign: Campaign, contacts, now) -> int:
    ids = list(contacts.values_list("id", flat=True))
    rows = [
        Delivery(merchant_id=campaign.merchant_id, campaign_id=campaign.pk, contact_id=i, not_before=now) for i in ids
    ]
    Delivery.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def ledger_chunks(*, campaign: Campaign) -> list:
    """The segment's contacts as querysets over consecutive contact-id ranges (empty list: nobody)."""
    contacts = rules_queryset(merchant=campaign.merchant, rules=campaign.segment.rules)
    bounds = contacts.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return []
    return [
        contacts.filter(id__gte=low, id__lt=low + CHUNK_IDS)
        for low in range(bounds["low"], bounds["high"] + 1, CHUNK_IDS)
    ]


def ledger_insert(*, campaign: Campaign, contacts, now) -> int:
    """One chunk as pending deliveries; rows already there are left alone (ON CONFLICT DO NOTHING)."""
    insert = _insert_chunk_postgres if connection.vendor == "postgresql" else _insert_chunk_portable
    return insert(campaign, contacts, now)


def ledger_build(*, campaign: Campaign, now=None) -> int:
    """The whole ledger in the caller's transaction; safe to run again. Returns the ledger's size.

    The audience is frozen here: contacts joining the segment later are not added.
    """
    now = now or timezone.now()
    for contacts in ledger_chunks(campaign=campaign):
        ledger_insert(campaign=campaign, contacts=contacts, now=now)
    return Delivery.objects.filter(campaign=campaign).count()
