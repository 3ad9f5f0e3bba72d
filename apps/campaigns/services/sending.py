"""Claim, gate, send and record: one batch of deliveries at a time, any number of workers at once.

The claim transaction is where the consent gate runs: rows are taken with FOR UPDATE SKIP LOCKED,
the contacts are locked (so a STOP committing first is seen, and one committing later waits), and
consent, quiet hours and frequency caps are read at that moment. Only then does a delivery become
`claimed` with a lease and a token. Just before each chunk goes to the provider it is stamped
`dispatched_at` (committed), and the stamp reads the gate again under the same contact locks: a STOP
committed after the claim stops the rows not yet on the wire. A claim whose lease expires without
that stamp was never sent and goes back to `pending`; one with it may have been sent and becomes
`unknown` until a status webhook says.

None of this depends on beat (docs/architecture.md, DR-14). The stamp needs the row still claimed by
this token within its lease; the reaper needs the lease expired; each is one conditional statement,
ordered by the row lock. So a redelivered or duplicated sender task can run next to the original, any
worker may reap, and a row that was stamped never goes back to `pending`. The senders reap their own
campaign's expired claims before each claim, so a dead worker's claims settle while beat is down.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.campaigns import conf, drill, throttle
from apps.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState, TemplateCategory
from apps.campaigns.payloads import whatsapp_campaign_payload
from apps.campaigns.sender import THROUGHPUT_PAUSE, BatchSender, Outcome, payload_bytes
from apps.campaigns.services.templates import template_values
from apps.contacts import schedule
from apps.contacts.addresses import whatsapp_address
from apps.contacts.gate import (
    GATE_CONTACT_FIELDS,
    REASON_TEXT,
    consent_gate,
    consent_gate_rows,
    contact_identities,
    refusal_code,
)
from apps.contacts.models import Contact
from apps.core.sql import column_in

logger = logging.getLogger(__name__)

COUNTED = (
    DeliveryState.CLAIMED,
    DeliveryState.SENT,
    DeliveryState.DELIVERED,
    DeliveryState.READ,
    DeliveryState.UNKNOWN,
)
CONTACT_FIELDS = (*GATE_CONTACT_FIELDS, "name", "locale", "timezone", "phone_timezone", "attributes")
OPAQUE_PREFIX = "charla-delivery:"
MAX_CHUNK = 500
HEARTBEAT_EVERY = 2.0  # seconds; well under CAMPAIGNS_HEARTBEAT_STALE_SECONDS


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


def _addresses(contacts: dict[int, dict], identities: dict[int, list[tuple[str, str]]]) -> dict[int, str]:
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
    addresses = _addresses(contacts, identities)
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
        (did, payload_bytes(whatsapp_campaign_payload(template=template, to=to, values=values, opaque=opaque_for(did))))
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


def _mark_dispatched(claim: Claim, ids: list[int]) -> list[int] | None:
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
    if not stamped and _status_now(campaign.pk) != CampaignStatus.RUNNING:
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


def _release(ids: list[int], *, token: str, not_before: datetime, cancelled: bool = False) -> None:
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


def _record(campaign: Campaign, outcomes: list[Outcome], token: str) -> dict[str, int]:
    """Write one chunk's outcomes; a row a status webhook already moved on is left alone."""
    now = timezone.now()
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    open_rows = Delivery.objects.filter(state__in=[DeliveryState.CLAIMED, DeliveryState.UNKNOWN])
    if set(by_kind) <= {"sent"}:  # the usual chunk: one autocommitted statement, no BEGIN/COMMIT round trips
        if by_kind["sent"]:
            _record_sent(open_rows, by_kind["sent"], now)
        return {kind: len(items) for kind, items in by_kind.items()}
    with transaction.atomic():
        if by_kind["sent"]:
            _record_sent(open_rows, by_kind["sent"], now)
        if by_kind["unknown"]:
            open_rows.filter(pk__in=[o.delivery_id for o in by_kind["unknown"]]).update(
                state=DeliveryState.UNKNOWN, error_code="transport", lease_expires_at=None
            )
        _record_errors(campaign, by_kind, token, now)
    return {kind: len(items) for kind, items in by_kind.items()}


def _record_sent(open_rows, sent: list[Outcome], now: datetime) -> None:
    """One statement per chunk; a row a status webhook already moved past `claimed` is not touched."""
    if connection.vendor == "postgresql":
        table = Delivery._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS d SET state = 'sent', sent_at = %s, provider_message_id = v.pid "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, pid) "
                "WHERE d.id = v.id AND d.state IN ('claimed', 'unknown')",
                [now, [o.delivery_id for o in sent], [o.provider_message_id for o in sent]],
            )
        return
    rows = [
        Delivery(pk=o.delivery_id, provider_message_id=o.provider_message_id, state=DeliveryState.SENT, sent_at=now)
        for o in sent
    ]
    open_rows.bulk_update(rows, ["provider_message_id", "state", "sent_at"], batch_size=500)


def _record_errors(campaign: Campaign, by_kind: dict, token: str, now: datetime) -> None:
    retry_at = now + timedelta(seconds=2)
    throttled = [o.delivery_id for o in by_kind["throttled"]]
    _release(throttled, token=token, not_before=retry_at)
    retry = [o.delivery_id for o in by_kind["retry"]]
    exhausted = set(
        Delivery.objects.filter(pk__in=retry, attempts__gte=conf.max_attempts()).values_list("pk", flat=True)
    )
    _release([i for i in retry if i not in exhausted], token=token, not_before=now + timedelta(seconds=5))
    failed = by_kind["failed"] + [o for o in by_kind["retry"] if o.delivery_id in exhausted]
    for outcome in failed:
        Delivery.objects.filter(pk=outcome.delivery_id, state=DeliveryState.CLAIMED).update(
            state=DeliveryState.FAILED, error_code=outcome.code, error_message=outcome.message, failed_at=now
        )
    limited = [o.delivery_id for o in by_kind["marketing_limit"]]
    Delivery.objects.filter(pk__in=limited, state=DeliveryState.CLAIMED).update(
        state=DeliveryState.SKIPPED, reason="marketing_limit", error_code="131049"
    )
    if by_kind["opted_out"]:
        from apps.campaigns.services.statuses import consent_revoke_from_provider

        for outcome in by_kind["opted_out"]:
            consent_revoke_from_provider(delivery_id=outcome.delivery_id, code=outcome.code)


def _bucket(campaign: Campaign) -> tuple[str, float]:
    rate = campaign.throttle_per_second  # 0: no local limit (the provider's 429s still slow us down)
    if rate is None:
        rate = conf.DEFAULT_THROTTLE.get(campaign.channel.kind, 80)
    return f"channel:{campaign.channel_id}", float(rate)


def _status_now(campaign_id: int) -> str:
    return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first() or ""


def _sender_for(campaign: Campaign) -> BatchSender:
    url = f"{settings.META_GRAPH_API_URL.rstrip('/')}/{campaign.channel.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {campaign.channel.access_token}"}
    return BatchSender(url=url, headers=headers, concurrency=conf.concurrency())


def _close_thread_connection() -> None:
    connection.close()  # resolved inside the helper thread: its own connection, not the caller's


class SendSession:
    """What a task keeps across its batches: one HTTP session (kept-alive connections) and, on
    PostgreSQL, one thread that stamps blocks and one that records outcomes, each with its own
    database connection, so both round trips overlap the requests on the wire. SQLite (the embedded
    default) serialises writers anyway: there the blocks go out one after another from this thread.
    """

    def __init__(self, campaign: Campaign):
        self.sender = _sender_for(campaign)
        threaded = connection.vendor == "postgresql"
        self.feeder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campaign-stamp") if threaded else None
        self.recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="campaign-record") if threaded else None

    def close(self) -> None:
        try:
            for pool in (self.feeder, self.recorder):
                if pool is not None:
                    pool.submit(_close_thread_connection).result()
                    pool.shutdown()
        finally:
            self.sender.close()

    def __enter__(self) -> SendSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Feed:
    """A claim's blocks, each paced by the throttle and stamped `dispatched_at` just before it goes out.

    When the campaign stops running (pause, cancel) nothing more is stamped and the rest is handed back.
    """

    def __init__(self, claim: Claim):
        self.claim, self.campaign = claim, claim.campaign
        self.key, self.rate = _bucket(self.campaign)
        self.position, self.released = 0, 0
        self.beat = time.monotonic()

    def __call__(self, free: int) -> list[tuple[int, bytes]] | None:
        items = self.claim.items
        while self.position < len(items):
            size = max(1, min(free, MAX_CHUNK, int(self.rate) if self.rate else MAX_CHUNK))
            chunk = items[self.position : self.position + size]
            if time.monotonic() - self.beat > HEARTBEAT_EVERY:  # a slow-paced batch must not look dead
                campaign_heartbeat(campaign_id=self.campaign.pk)
                self.beat = time.monotonic()
            wait = throttle.reserve(self.key, len(chunk), self.rate) if self.rate else 0
            if wait:
                time.sleep(wait)
            drill.checkpoint("stamp", len(chunk))
            stamped = _mark_dispatched(self.claim, [did for did, _ in chunk])
            if not stamped and self.claim.lease_until <= timezone.now():
                stamped = None  # the lease ran out: the rest is no longer ours to send
            if stamped is None:  # paused, cancelled or lease lost: only never-dispatched rows are handed back
                self._hand_back([did for did, _ in items[self.position :]])
                return None
            self.position += len(chunk)
            allowed = set(stamped)
            block = [(did, body) for did, body in chunk if did in allowed]
            if block:
                return block
        return None

    def _hand_back(self, rest: list[int]) -> None:
        cancelled = _status_now(self.campaign.pk) == CampaignStatus.CANCELLED
        _release(rest, token=self.claim.token, not_before=timezone.now(), cancelled=cancelled)
        self.released += len(rest)
        self.position = len(self.claim.items)


class _Ledger:
    """Records outcomes as they arrive; a throughput error also slows every sender on the channel."""

    def __init__(self, claim: Claim, key: str, rate: float):
        self.claim, self.key, self.rate = claim, key, rate
        self.totals: dict[str, int] = defaultdict(int)

    def __call__(self, outcomes: list[Outcome]) -> None:
        drill.checkpoint("record", len(outcomes))
        for kind, count in _record(self.claim.campaign, outcomes, self.claim.token).items():
            self.totals[kind] += count
        if self.rate and any(o.kind == "throttled" for o in outcomes):
            throttle.slow_down(self.key, self.rate, THROUGHPUT_PAUSE)


def batch_send(*, claim: Claim, session: SendSession | None = None) -> dict[str, int]:
    """Send a claimed batch, at most the HTTP pool's worth in flight; stop within a block when paused
    or cancelled. `session`: an open SendSession to reuse across the batches of a loop.
    """
    campaign = claim.campaign
    if campaign is None or not claim.items:
        return defaultdict(int)
    if session is None:
        with SendSession(campaign) as own:
            return batch_send(claim=claim, session=own)
    feed = _Feed(claim)
    ledger = _Ledger(claim, feed.key, feed.rate)
    session.sender.stream(next_block=feed, record=ledger, feeder=session.feeder, recorder=session.recorder)
    totals = ledger.totals
    if feed.released:
        totals["released"] += feed.released
    return totals


def campaign_heartbeat(*, campaign_id: int) -> None:
    Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())


def batch_run(*, campaign_id: int, limit: int | None = None) -> Claim:
    """One batch end to end: claim, send, record. Returns the claim (picked == 0: nothing was due)."""
    claim = batch_claim(campaign_id=campaign_id, limit=limit or _batch_limit(campaign_id))
    if claim.campaign is not None:
        campaign_heartbeat(campaign_id=campaign_id)
        batch_send(claim=claim)
        from apps.campaigns import progress

        progress.progress_broadcast(campaign_id=campaign_id)
    return claim


def _reap_and_claim(campaign_id: int, limit: int) -> Claim:
    """The senders settle their campaign's expired claims themselves: a dead worker's claims come
    back (or become `unknown`) within a lease even while no beat runs."""
    deliveries_reap(campaign_id=campaign_id)
    return batch_claim(campaign_id=campaign_id, limit=limit)


def _claim_in_thread(campaign_id: int, limit: int) -> Claim:
    try:
        return _reap_and_claim(campaign_id, limit)
    finally:
        connection.close()  # the helper thread's own connection


class _Inline:
    """SQLite (the embedded default) serialises writers anyway: claim in the caller's thread there."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def submit(self, fn, *args):
        future: Future = Future()
        future.set_result(_reap_and_claim(args[0], args[1]))
        return future


def _claimer():
    if connection.vendor == "postgresql":
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="campaign-claim")
    return _Inline()


def batch_loop(*, campaign_id: int, budget_seconds: float = 20.0) -> int:
    """Batches back to back for up to `budget_seconds`, claiming the next batch while this one sends.

    The claim is database work and the send waits on the provider, so overlapping them keeps both
    busy. Returns how many deliveries were picked (0: nothing was due).
    """
    from apps.campaigns import progress

    limit = _batch_limit(campaign_id)
    deadline = time.monotonic() + budget_seconds
    picked = 0
    session: SendSession | None = None
    try:
        with _claimer() as pool:
            upcoming = pool.submit(_claim_in_thread, campaign_id, limit)
            while True:
                claim = upcoming.result()
                picked += claim.picked
                if claim.campaign is None or not claim.picked:
                    return picked
                more = time.monotonic() < deadline
                upcoming = pool.submit(_claim_in_thread, campaign_id, limit) if more else None
                campaign_heartbeat(campaign_id=campaign_id)
                if session is None and claim.items:
                    session = SendSession(claim.campaign)
                batch_send(claim=claim, session=session)
                progress.progress_broadcast(campaign_id=campaign_id)
                if upcoming is None:
                    return picked
    finally:
        if session is not None:
            session.close()


def _batch_limit(campaign_id: int) -> int:
    """About two seconds of sending at the campaign's pace, so a pause bites within seconds."""
    throttle_rate = Campaign.objects.filter(pk=campaign_id).values_list("throttle_per_second", flat=True).first()
    if not throttle_rate:
        return conf.batch_size()
    return max(10, min(conf.batch_size(), throttle_rate * 2))


def deliveries_reap(*, now: datetime | None = None, campaign_id: int | None = None) -> dict[str, int]:
    """Expired claims: never dispatched -> pending again; dispatched -> unknown (never resent blindly).

    Safe from anywhere, any number of times, next to live senders: a stamp needs an unexpired lease and
    this needs an expired one, each is one conditional statement, and the row lock orders them, so a
    row goes back to `pending` only if nobody can still stamp it, and a stamped row never does.
    """
    now = now or timezone.now()
    expired = Delivery.objects.filter(state=DeliveryState.CLAIMED, lease_expires_at__lt=now)
    if campaign_id is not None:
        expired = expired.filter(campaign_id=campaign_id)
    back = expired.filter(dispatched_at__isnull=True).update(
        state=DeliveryState.PENDING, claim_token="", lease_expires_at=None, attempted_at=None, not_before=timezone.now()
    )
    unknown = expired.filter(dispatched_at__isnull=False).update(
        state=DeliveryState.UNKNOWN, lease_expires_at=None, error_code="lease_expired"
    )
    if back or unknown:
        logger.warning("campaigns.reaped", extra={"pending_again": back, "unknown": unknown})
    return {"pending": back, "unknown": unknown}


def campaign_test_send(*, campaign: Campaign, contact: Contact) -> str:
    """Send the campaign's message to one contact the marketer picked (usually themselves) right now.

    The same gate applies: a test send never reaches someone without marketing consent.
    """
    from apps.campaigns.services.campaigns import LaunchRefused
    from apps.conversations.providers import ProviderError, get_client

    if contact.merchant_id != campaign.merchant_id:
        raise LaunchRefused("contact_not_found", "No contact with this id.")
    if not campaign.template.is_sendable:
        raise LaunchRefused("template_not_approved", f"The template is {campaign.template.status}, not approved.")
    reason = consent_gate(merchant=campaign.merchant, channel=campaign.channel.kind, contact_ids=[contact.pk])[
        contact.pk
    ]
    if reason:
        raise LaunchRefused(refusal_code(reason), f"This contact cannot receive marketing: {REASON_TEXT[reason]}.")
    row = Contact.objects.filter(pk=contact.pk).values(*CONTACT_FIELDS).get()
    values = template_values(
        template=campaign.template, contact=row, params=campaign.params, fallbacks=campaign.fallbacks
    )
    if values is None:
        raise LaunchRefused("missing_variable", "A template variable has no value or fallback for this contact.")
    identities = contact_identities(merchant=campaign.merchant, contact_ids=[contact.pk])
    to = _addresses({contact.pk: row}, identities)[contact.pk]
    payload = whatsapp_campaign_payload(
        template=campaign.template, to=to, values=values, opaque=f"charla-test:{campaign.pk}"
    )
    try:
        return get_client(campaign.channel).send(payload).provider_message_id
    except ProviderError as exc:
        raise LaunchRefused("provider_error", f"The provider refused the message: {exc.message}") from None
