"""The send loop: claimed batches driven through the batch transport, paced by the throttle.

A task claims the next batch while the current one sends (the claim is database work, the send waits
on the provider). Before each claim the senders reap their own campaign's expired claims, so a dead
worker's claims settle while beat is down (docs/architecture.md, DR-14). A redelivered or duplicated
sender task can run next to the original: every claim is its own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection
from django.utils import timezone

from apps.campaigns import conf, drill, progress, throttle
from apps.campaigns.models import Campaign, CampaignStatus
from apps.campaigns.services.claim import Claim, batch_claim, campaign_status_now, deliveries_release, deliveries_stamp
from apps.campaigns.services.outcomes import outcomes_record
from apps.campaigns.services.reaper import deliveries_reap
from apps.conversations.providers import SANDBOX_OFF, SandboxOff, graph_base_url
from apps.meta.batch import THROUGHPUT_PAUSE, BatchSender, Outcome

MAX_CHUNK = 500
HEARTBEAT_EVERY = 2.0  # seconds; well under CAMPAIGNS_HEARTBEAT_STALE_SECONDS


def _bucket(campaign: Campaign) -> tuple[str, float]:
    rate = campaign.throttle_per_second  # 0: no local limit (the provider's 429s still slow us down)
    if rate is None:
        rate = conf.DEFAULT_THROTTLE.get(campaign.channel.kind, 80)
    return f"channel:{campaign.channel_id}", float(rate)


def _sender_for(campaign: Campaign) -> BatchSender:
    channel = campaign.channel
    return BatchSender.whatsapp(
        base_url=graph_base_url(channel),
        phone_number_id=channel.phone_number_id,
        access_token=channel.access_token,
        concurrency=conf.concurrency(),
    )


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
            stamped = deliveries_stamp(self.claim, [did for did, _ in chunk])
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
        cancelled = campaign_status_now(self.campaign.pk) == CampaignStatus.CANCELLED
        deliveries_release(rest, token=self.claim.token, not_before=timezone.now(), cancelled=cancelled)
        self.released += len(rest)
        self.position = len(self.claim.items)


class _Ledger:
    """Records outcomes as they arrive; a throughput error also slows every sender on the channel."""

    def __init__(self, claim: Claim, key: str, rate: float):
        self.claim, self.key, self.rate = claim, key, rate
        self.totals: dict[str, int] = defaultdict(int)

    def __call__(self, outcomes: list[Outcome]) -> None:
        drill.checkpoint("record", len(outcomes))
        for kind, count in outcomes_record(self.claim.campaign, outcomes, self.claim.token).items():
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
        try:
            own = SendSession(campaign)
        except SandboxOff as exc:
            return _refuse_all(claim, exc)
        with own:
            return batch_send(claim=claim, session=own)
    feed = _Feed(claim)
    ledger = _Ledger(claim, feed.key, feed.rate)
    session.sender.stream(next_block=feed, record=ledger, feeder=session.feeder, recorder=session.recorder)
    totals = ledger.totals
    if feed.released:
        totals["released"] += feed.released
    return totals


def _session_or_none(campaign: Campaign) -> SendSession | None:
    """None for a sandbox channel while the sandbox is off: batch_send then fails the claim's rows."""
    try:
        return SendSession(campaign)
    except SandboxOff:
        return None


def _refuse_all(claim: Claim, exc: SandboxOff) -> dict[str, int]:
    """A sandbox channel while the sandbox is off: nothing goes out, each claimed row fails with the code."""
    outcomes = [Outcome(did, "failed", code=SANDBOX_OFF, message=exc.message) for did, _ in claim.items]
    return defaultdict(int, outcomes_record(claim.campaign, outcomes, claim.token))


def campaign_heartbeat(*, campaign_id: int) -> None:
    Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())


def batch_run(*, campaign_id: int, limit: int | None = None) -> Claim:
    """One batch end to end: claim, send, record. Returns the claim (picked == 0: nothing was due)."""
    claim = batch_claim(campaign_id=campaign_id, limit=limit or _batch_limit(campaign_id))
    if claim.campaign is not None:
        campaign_heartbeat(campaign_id=campaign_id)
        batch_send(claim=claim)
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
                    session = _session_or_none(claim.campaign)
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
