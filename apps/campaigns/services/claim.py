"""The claim and the stamp: where the consent gate runs, under the contacts' row locks.

The claim transaction takes rows with FOR UPDATE SKIP LOCKED, locks the contacts (so a STOP
committing first is seen, and one committing later waits), and reads consent, quiet hours and
frequency caps at that moment. Only then does a delivery become `claimed` with a lease and a token.
Just before each chunk goes to the provider it is stamped `dispatched_at` (committed), and the stamp
reads the gate again under the same contact locks: a STOP committed after the claim stops the rows
not yet on the wire. The stamp needs the row still claimed by this token within its lease (the
reaper, `services/reaper.py`, needs the lease expired), so a stamped row never goes back to `pending`.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.campaigns import conf
from apps.campaigns.models import COUNTED, Campaign, CampaignStatus, Delivery, DeliveryState, TemplateCategory
from apps.campaigns.placeholders import template_values
from apps.campaigns.send_body import campaign_send_body
from apps.contacts import schedule
from apps.contacts.addresses import whatsapp_address
from apps.contacts.gate import GATE_CONTACT_FIELDS, consent_gate_rows, contact_identities
from apps.contacts.models import Contact
from apps.core.sql import column_in
from apps.meta.batch import payload_bytes

CONTACT_FIELDS = (*GATE_CONTACT_FIELDS, "name", "locale", "timezone", "phone_timezone", "attributes")
OPAQUE_PREFIX = "charla-delivery:"


def ids_in(model, ids) -> Q:
    return column_in(model, "id", ids)


def opaque_for(delivery_id: int) -> str:
    return f"{OPAQUE_PREFIX}{delivery_id}"


def delivery_id_from_opaque(opaque) -> int | None:
    text = str(opaque or "")
    if not text.startswith(OPAQUE_PREFIX):
        return None
    try:
        return int(text[len(OPAQUE_PREFIX) :])
    except ValueError:
        return None


@dataclass
class Claim:
    campaign: Campaign | None
    token: str
    items: list[tuple[int, bytes]] = field(default_factory=list)  # (delivery id, provider request body)
    contacts: dict[int, int] = field(default_factory=dict)  # delivery id -> contact id, for the stamp's gate
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    picked: int = 0
    lease_until: datetime | None = None  # nothing of this claim is stamped from then on


def contact_tz(contact: dict, merchant_tz: str) -> str:
    return contact.get("timezone") or contact.get("phone_timezone") or merchant_tz


def _pick(campaign: Campaign, limit: int, now: datetime) -> list[tuple[int, int]]:
    return list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(campaign=campaign, state=DeliveryState.PENDING, not_before__lte=now)
        .order_by("not_before", "id")
        .values_list("id", "contact_id")[:limit]
    )


def _lock_contacts(merchant_id: int, ids: list[int]) -> dict[int, dict]:
    """Row locks in id order (no deadlocks): serialises the claim with consent writes and other claims."""
    qs = Contact.objects.filter(column_in(Contact, "id", ids), merchant_id=merchant_id).order_by("pk")
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(no_key=True)
    return {row["id"]: row for row in qs.values(*CONTACT_FIELDS)}


def whatsapp_addresses(contacts: dict[int, dict], identities: dict[int, list[tuple[str, str]]]) -> dict[int, str]:
    """contact id -> WhatsApp address (`whatsapp_address`: wa_id, else phone, else business-scoped user id)."""
    found = {cid: whatsapp_address(phone=c["phone"], identities=identities.get(cid, ())) for cid, c in contacts.items()}
    return {cid: address for cid, address in found.items() if address}


class _PerZone:
    """A value that depends only on the contact's timezone, computed once per zone in a batch."""

    def __init__(self, compute):
        self.compute, self.values = compute, {}

    def __call__(self, tz_name: str):
        if tz_name not in self.values:
            self.values[tz_name] = self.compute(tz_name)
        return self.values[tz_name]


def _capped(campaign: Campaign, ids: list[int], contacts: dict, now: datetime) -> dict[int, str]:
    """contact id -> frequency_cap | marketing_limit for those the caps hold back."""
    if campaign.template.category != TemplateCategory.MARKETING or not ids:
        return {}
    cap = campaign.frequency_cap or {}
    period = cap.get("period", "day")
    merchant_tz = campaign.merchant.timezone
    window_start = _PerZone(lambda tz: schedule.cap_window_start(now=now, tz_name=tz, period=period))
    day_start = _PerZone(lambda tz: schedule.cap_window_start(now=now, tz_name=tz, period="day"))
    zones = {cid: contact_tz(contacts[cid], merchant_tz) for cid in ids}
    earliest = min(min(window_start(tz), day_start(tz)) for tz in set(zones.values()))
    # No join here: the planner must walk the (contact, attempted_at) index, not a campaign's rows.
    rows = list(
        Delivery.objects.filter(column_in(Delivery, "contact_id", ids), attempted_at__gte=earliest)
        .exclude(campaign_id=campaign.pk)
        .values_list("contact_id", "attempted_at", "state", "reason", "campaign_id")
    )
    marketing = (
        set(
            Campaign.objects.filter(
                pk__in={row[4] for row in rows}, template__category=TemplateCategory.MARKETING
            ).values_list("pk", flat=True)
        )
        if rows
        else set()
    )
    counts: dict[int, int] = defaultdict(int)
    held: dict[int, str] = {}
    for cid, attempted_at, state, reason, campaign_id in rows:
        if campaign_id not in marketing:
            continue
        if state == DeliveryState.SKIPPED and reason == "marketing_limit" and attempted_at >= day_start(zones[cid]):
            held[cid] = "marketing_limit"  # Meta's per-user limit (131049): not again today
        elif state in COUNTED and attempted_at >= window_start(zones[cid]):
            counts[cid] += 1
    if cap.get("max"):
        for cid, count in counts.items():
            if count >= cap["max"]:
                held.setdefault(cid, "frequency_cap")
    return held


def _classify(campaign: Campaign, picked, contacts, now) -> tuple[dict, dict, dict]:
    """-> (sendable: id -> (to, values), skipped: reason -> [ids], deferred: release -> [ids])."""
    merchant = campaign.merchant
    contact_ids = [cid for _, cid in picked]
    identities = contact_identities(merchant=merchant, contact_ids=list(contacts))
    gate = consent_gate_rows(
        merchant=merchant,
        channel=campaign.channel.kind,
        contact_ids=contact_ids,
        contacts=contacts,
        identities=identities,
    )
    addresses = whatsapp_addresses(contacts, identities)
    quiet = schedule.quiet_hours_parse(campaign.quiet_hours)
    release_at = _PerZone(
        lambda tz: schedule.quiet_hours_release(now=now, tz_name=tz, start=quiet[0], end=quiet[1]) if quiet else None
    )
    skipped, deferred, candidates = defaultdict(list), defaultdict(list), {}
    for delivery_id, cid in picked:
        reason = gate.get(cid, "no_identity")
        if reason is None and cid not in addresses:
            reason = "no_identity"
        if reason:
            skipped[reason].append(delivery_id)
            continue
        release = release_at(contact_tz(contacts[cid], merchant.timezone))
        if release:
            deferred[release].append(delivery_id)
        else:
            candidates[delivery_id] = cid
    capped = _capped(campaign, list(candidates.values()), contacts, now)
    sendable = {}
    for delivery_id, cid in candidates.items():
        values = template_values(
            template=campaign.template, contact=contacts[cid], params=campaign.params, fallbacks=campaign.fallbacks
        )
        if cid in capped:
            skipped[capped[cid]].append(delivery_id)
        elif values is None:
            skipped["missing_variable"].append(delivery_id)
        else:
            sendable[delivery_id] = (addresses[cid], values)
    return sendable, skipped, deferred


def _running(campaign_id: int) -> Campaign | None:
    return (
        Campaign.objects.select_related("merchant", "channel", "template")
        .filter(pk=campaign_id, status=CampaignStatus.RUNNING)
        .first()
    )


def batch_claim(*, campaign_id: int, limit: int, now: datetime | None = None) -> Claim:
    """Claim up to `limit` due deliveries; gate them; skip or hold the rest with their reason."""
    now = now or timezone.now()
    token = secrets.token_hex(8)
    with transaction.atomic():
        campaign = _running(campaign_id)
        if campaign is None:
            return Claim(None, token)
        picked = _pick(campaign, limit, now)
        contacts = _lock_contacts(campaign.merchant_id, [cid for _, cid in picked])
        sendable, skipped, deferred = _classify(campaign, picked, contacts, now)
        lease = now + timedelta(seconds=conf.lease_seconds())
        Delivery.objects.filter(ids_in(Delivery, sendable)).update(
            state=DeliveryState.CLAIMED,
            claim_token=token,
            lease_expires_at=lease,
            attempted_at=now,
            attempts=F("attempts") + 1,
        )
        for reason, ids in skipped.items():
            Delivery.objects.filter(ids_in(Delivery, ids)).update(
                state=DeliveryState.SKIPPED, reason=reason, attempted_at=now
            )
        for release, ids in deferred.items():
            Delivery.objects.filter(ids_in(Delivery, ids)).update(not_before=release)
    template = campaign.template
    items = [
        (did, payload_bytes(campaign_send_body(template=template, to=to, values=values, opaque=opaque_for(did))))
        for did, (to, values) in sendable.items()
    ]
    contact_of = dict(picked)
    return Claim(
        campaign,
        token,
        items,
        {did: contact_of[did] for did in sendable},
        {r: len(i) for r, i in skipped.items()},
        sum(len(i) for i in deferred.values()),
        len(picked),
        lease,
    )


def deliveries_stamp(claim: Claim, ids: list[int]) -> list[int] | None:
    """Stamp the chunk just before sending; only the rows that come back may go on the wire.

    One transaction: the chunk's contacts are locked (a STOP in flight holds its contact's lock, so
    the stamp waits for it and sees it; one that starts later waits for the stamp) and the consent
    gate is read again: the claim may be seconds old. Rows it now refuses are skipped with its reason.
    The stamp itself is one statement conditional on the claim: still `claimed`, by this token, with
    the lease not yet expired, and the campaign still running (None = it is not: nothing stamped).
    """
    if not ids:
        return []
    campaign = claim.campaign
    with transaction.atomic():
        refused = _refused_now(campaign, sorted({claim.contacts[did] for did in ids}))
        by_reason: dict[str, list[int]] = defaultdict(list)
        for did in ids:
            if claim.contacts[did] in refused:
                by_reason[refused[claim.contacts[did]]].append(did)
        for reason, skipped in by_reason.items():
            Delivery.objects.filter(
                ids_in(Delivery, skipped), state=DeliveryState.CLAIMED, claim_token=claim.token
            ).update(state=DeliveryState.SKIPPED, reason=reason, claim_token="", lease_expires_at=None)
        stamped = _stamp_claimed([did for did in ids if claim.contacts[did] not in refused], claim.token, campaign.pk)
    if not stamped and campaign_status_now(campaign.pk) != CampaignStatus.RUNNING:
        return None
    return stamped


def _refused_now(campaign: Campaign, contact_ids: list[int]) -> dict[int, str]:
    """contact id -> the gate's reason, for the contacts it refuses now; their rows are locked until commit."""
    contacts = _lock_contacts(campaign.merchant_id, contact_ids)
    identities = contact_identities(merchant=campaign.merchant, contact_ids=list(contacts))
    gate = consent_gate_rows(
        merchant=campaign.merchant,
        channel=campaign.channel.kind,
        contact_ids=contact_ids,
        contacts=contacts,
        identities=identities,
    )
    return {cid: reason for cid, reason in gate.items() if reason}


def _stamp_claimed(ids: list[int], token: str, campaign_id: int) -> list[int]:
    """The stamp: rows still claimed by `token` within their lease, while the campaign runs."""
    if not ids:
        return []
    table, campaigns = Delivery._meta.db_table, Campaign._meta.db_table
    if connection.vendor == "postgresql":
        where, params = f"{table}.id = ANY(%s::bigint[])", [list(ids)]
    else:
        where, params = f"{table}.id IN ({', '.join(['%s'] * len(ids))})", list(ids)
    now = timezone.now()
    sql = (
        f"UPDATE {table} SET dispatched_at = %s WHERE {where} "  # noqa: S608
        f"AND {table}.state = 'claimed' AND {table}.claim_token = %s AND {table}.lease_expires_at > %s "
        f"AND EXISTS (SELECT 1 FROM {campaigns} c WHERE c.id = %s AND c.status = 'running') RETURNING {table}.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *params, token, now, campaign_id])
        return [row[0] for row in cursor.fetchall()]


def deliveries_release(ids: list[int], *, token: str, not_before: datetime, cancelled: bool = False) -> None:
    """Hand claimed-but-unsent deliveries back (or skip them when the campaign was cancelled)."""
    if not ids:
        return
    qs = Delivery.objects.filter(ids_in(Delivery, ids), state=DeliveryState.CLAIMED, claim_token=token)
    if cancelled:
        qs.update(state=DeliveryState.SKIPPED, reason="cancelled", claim_token="", lease_expires_at=None)
    else:
        qs.update(
            state=DeliveryState.PENDING,
            claim_token="",
            lease_expires_at=None,
            attempted_at=None,
            dispatched_at=None,
            not_before=not_before,
        )


def campaign_status_now(campaign_id: int) -> str:
    """The status as committed now (a claim holds a snapshot of the campaign; a pause may have landed since)."""
    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first() or ""
