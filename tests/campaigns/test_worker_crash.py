"""Real Celery workers on Redis, SIGKILLed in the middle of a campaign and restarted, beat down for a while.

The workers run without `-B`: beat is its own process, started late (or, in one case, with the first
worker and kept running), so nothing here leans on the scheduler for correctness. The fake Graph API answers in
100-300 ms (slower under load), refuses some requests with 5xx, drops some connections without an
answer (half of them after accepting) and posts a signed `sent` status webhook for each message it
accepted, echoing biz_opaque_callback_data, to the live server. The broker's redelivery is forced
(every unacked message back on the queue, as after a visibility timeout), contacts send STOP while
the campaign runs, and at the end: nobody received the campaign twice, nobody after their STOP, every
consented contact got it once or is `unknown` in the stats, no claim outlived lease + one tick of a
running beat, and the campaign completed.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.campaigns.models import Campaign, Delivery, DeliveryState
from apps.campaigns.services import campaign_launch
from apps.contacts.services import consent_record
from apps.conversations.models import WebhookEvent
from tests.fakes.graph import FakeGraph, StatusHook, Weather
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]
LEASE = 3.0  # CAMPAIGNS_LEASE_SECONDS of the test workers
TICK = 2.0  # the campaigns tick's period (apps/campaigns/beat.py)
WIRE_HOP = 0.5  # a block stamped before a STOP committed may still be on its way to the provider


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _env(graph_url: str, **extra: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DATABASE_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "META_GRAPH_API_URL": graph_url,
        "CAMPAIGNS_LEASE_SECONDS": str(LEASE),
        "CAMPAIGNS_HEARTBEAT_STALE_SECONDS": "2",
        "CAMPAIGNS_HTTP_CONCURRENCY": "10",
        "CAMPAIGNS_SENDERS": "2",
        "CAMPAIGNS_BATCH_SIZE": "40",  # a second of sending per batch at 40/s: the drills park mid-campaign
        **extra,
    }


def _spawn(tmp_path: Path, name: str, args: list[str], env: dict) -> subprocess.Popen:
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", *args, "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _start_worker(tmp_path: Path, env: dict, n: int) -> subprocess.Popen:
    args = ["worker", "--concurrency", "2", "--pool", "prefork", "--without-gossip", "--without-mingle"]
    return _spawn(tmp_path, f"worker-{n}", [*args, "-n", f"crash{n}@%h"], env)


def _start_beat(tmp_path: Path, env: dict) -> subprocess.Popen:
    return _spawn(tmp_path, "beat", ["beat", "-s", str(tmp_path / "beat-schedule")], env)


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)  # the worker and its pool children: a machine losing power
    process.wait(10)


def _redeliver_unacked() -> int:
    """What the Redis transport does once a message's visibility timeout has passed: every unacked
    message (the dead worker's, and the live worker's running ones) goes back on its queue."""
    from portal.celery import app

    with app.connection_for_write(transport_options={"visibility_timeout": 0}) as conn:
        qos = conn.default_channel.qos
        client = conn.default_channel.client
        for _ in range(40):  # a worker's own periodic restore may hold the transport's mutex for a moment
            before = client.hlen(qos.unacked_key)
            qos.restore_visible(num=10_000, interval=1)
            restored = before - client.hlen(qos.unacked_key)
            if restored > 0:
                return restored
            time.sleep(0.25)
        return 0


def _parked(fake: FakeGraph) -> bool:
    """The send path stopped where the drill parks it: nothing in flight, nothing new for a second."""
    seen = len(fake.requests)
    if not seen or fake.in_flight:
        return False
    time.sleep(1.0)
    return len(fake.requests) == seen and not fake.in_flight


class Stops:
    """Contacts not reached yet send STOP while the campaign runs (consent service, as the inbound
    keyword handler records it), at most one every `every` seconds."""

    def __init__(self, campaign: Campaign, merchant, budget: int, every: float = 0.2):
        self.campaign, self.merchant, self.budget, self.every = campaign, merchant, budget, every
        self.committed: dict[int, float] = {}  # contact id -> time.time() once the revoke committed
        self.live = 0  # how many hit a claim a live sender held
        self.last = 0.0

    def _target(self, live: bool) -> Delivery | None:
        rows = Delivery.objects.filter(campaign=self.campaign, dispatched_at__isnull=True).exclude(
            contact_id__in=list(self.committed)
        )
        # The last row of a live claim: its sender stamps it a second or two from now.
        claimed = rows.filter(state=DeliveryState.CLAIMED, lease_expires_at__gt=timezone.now()).order_by("-id")
        if live:
            return claimed.first()
        dead = rows.filter(state=DeliveryState.CLAIMED).order_by("-id")  # no worker runs: a dead worker's claim
        return dead.first() or rows.filter(state=DeliveryState.PENDING).order_by("-id").first()

    def one(self, live: bool = True) -> None:
        if len(self.committed) >= self.budget or time.monotonic() - self.last < self.every:
            return
        target = self._target(live)
        if target is None:
            return
        consent_record(
            merchant=self.merchant,
            contact=target.contact,
            channel="whatsapp",
            purpose="marketing",
            action="revoke",
            source="keyword",
            wording="STOP",
        )
        self.committed[target.contact_id] = time.time()
        self.live += live
        self.last = time.monotonic()

    def pending(self, n: int) -> None:
        for _ in range(n):
            self.last = 0.0
            self.one(live=False)


KILL_AT = {
    # parked before stamping its next block: claimed rows, never sent -> pending again
    "before_the_stamp": {"drill": "stamp:30"},
    # the provider holds its answers: stamped requests on the wire at the kill -> unknown or settled by webhooks
    "during_the_requests": {"hold_after": 50},
    # answers in, outcomes not written: stamped rows the provider took -> settled by webhooks, never resent
    "before_the_results_are_recorded": {"drill": "record:30"},
}


@pytest.mark.parametrize(
    ("moment", "beat"),
    [*((moment, "down") for moment in KILL_AT), ("during_the_requests", "up"), ("before_the_stamp", "never")],
)
def test_sigkill_never_sends_twice_nor_after_stop(
    moment, beat, tmp_path, live_server, make_contact, make_campaign, channel, merchant, api
):
    """beat "down": it starts only after the crash, the redelivery and two leases; "up": it runs throughout;
    "never": it never runs, and the redelivered sender chains settle and complete the campaign alone."""
    from portal.celery import app

    app.control.purge()  # tasks left on this Redis db by earlier tests must not run against this database
    hook = StatusHook(f"{live_server.url}{channel.webhook_path}", channel.app_secret, channel.phone_number_id)
    fake = FakeGraph(weather=Weather(seed=len(moment)), status_hook=hook)
    fake.hold_after = KILL_AT[moment].get("hold_after")
    processes: list[subprocess.Popen] = []
    try:
        consented = [make_contact(tags=["spring"]) for _ in range(150)]
        refused = [make_contact(tags=["spring"], consent="revoked") for _ in range(10)]
        refused += [make_contact(tags=["spring"], consent=None) for _ in range(60)]
        campaign = make_campaign(rules={"tags_any": ["spring"]}, throttle_per_second=40)
        stops = Stops(campaign, merchant, budget=20)
        campaign_launch(campaign=campaign)

        drill = KILL_AT[moment].get("drill")
        first = _start_worker(tmp_path, _env(fake.url, **({"CAMPAIGNS_DRILL_PARK": drill} if drill else {})), 1)
        processes.append(first)
        if beat == "up":
            processes.append(_start_beat(tmp_path, _env(fake.url)))
        if drill:
            wait_until(lambda: _parked(fake), 90, what=f"the worker to park at {drill}")
        else:
            wait_until(lambda: len(fake.requests) > fake.hold_after + 5, 90, what="requests to be held in flight")
        _kill(first)
        killed_with = len(fake.requests)
        assert killed_with < len(consented), "the kill must land mid-campaign"
        assert Delivery.objects.filter(campaign=campaign, state=DeliveryState.CLAIMED).exists()
        stops.pending(8)  # while no worker runs
        fake.release()
        time.sleep(2)

        env = _env(fake.url)
        processes.append(_start_worker(tmp_path, env, 2))
        time.sleep(3)
        assert _redeliver_unacked() > 0  # the killed worker's sender tasks come back
        beat_down_until = time.monotonic() + 2 * LEASE + TICK  # leases expire with no beat to reap them
        wait_until(lambda: time.monotonic() > beat_down_until, 30, what="two leases and a tick", between=stops.one)
        # The redelivered senders settle the dead worker's claims themselves: no beat needed for that.
        expired_long_ago = timezone.now() - timezone.timedelta(seconds=LEASE)
        stale_claims = Delivery.objects.filter(
            campaign=campaign, state=DeliveryState.CLAIMED, lease_expires_at__lt=expired_long_ago
        )
        assert list(stale_claims.values_list("pk", flat=True)) == []

        claimed_at_beat_start = set(
            Delivery.objects.filter(campaign=campaign, state=DeliveryState.CLAIMED).values_list("pk", "claim_token")
        )
        if beat == "down":
            processes.append(_start_beat(tmp_path, env))
        time.sleep(LEASE + TICK + 2.0)  # the lease, one tick, and the time it takes beat to start
        still_claimed = set(
            Delivery.objects.filter(campaign=campaign, state=DeliveryState.CLAIMED).values_list("pk", "claim_token")
        )
        assert claimed_at_beat_start & still_claimed == set()

        wait_until(
            lambda: Campaign.objects.get(pk=campaign.pk).status == "completed",
            90,
            what="the campaign to complete",
            between=stops.one,
        )
        accepted_ids = {int(item["opaque"].rsplit(":", 1)[1]) for item in fake.accepted}
        wait_until(
            lambda: not Delivery.objects.filter(pk__in=accepted_ids, state__in=["claimed", "unknown"]).exists(),
            30,
            what="the status webhooks of every accepted message to be applied",
            detail=lambda: (
                fake.webhooks_posted,
                len(fake.accepted),
                list(WebhookEvent.objects.exclude(status="processed").values_list("status", "error")[:5]),
                list(
                    Delivery.objects.filter(pk__in=accepted_ids, state__in=["claimed", "unknown"]).values_list(
                        "pk", "state", "error_code"
                    )[:10]
                ),
            ),
        )
    finally:
        for process in processes:
            if process.poll() is None:
                _kill(process)
        fake.close()

    addresses = {c.pk: c.phone.lstrip("+") for c in [*consented, *refused]}
    received = fake.per_recipient()
    assert {to: n for to, n in received.items() if n > 1} == {}, "someone received the campaign twice"
    assert [received[addresses[c.pk]] for c in refused] == [0] * len(refused)

    late = {
        cid: [round(entry["at"] - at, 3) for entry in fake.log if entry["to"] == addresses[cid]]
        for cid, at in stops.committed.items()
    }
    late = {cid: offsets for cid, offsets in late.items() if any(offset > WIRE_HOP for offset in offsets)}
    assert late == {}, "requests reached the provider after the contact's STOP had committed"
    assert stops.live >= 3, "the drill must STOP contacts whose claim a live sender holds"
    assert len(stops.committed) == 8 + stops.live

    states = dict(Delivery.objects.filter(campaign=campaign).values_list("contact_id", "state"))
    for contact in consented:
        outcome = (received[addresses[contact.pk]], states[contact.pk])
        if contact.pk in stops.committed:
            assert outcome in {(1, "sent"), (0, "skipped"), (0, "unknown")}, (contact.pk, outcome)
        else:
            assert outcome in {(1, "sent"), (0, "unknown")}, (contact.pk, outcome)
    assert {states[c.pk] for c in refused} == {"skipped"}
    stats = api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    unknown = sum(1 for state in states.values() if state == "unknown")
    assert stats["states"]["unknown"] == unknown
    assert stats["states"]["claimed"] == stats["states"]["pending"] == 0
    assert stats["states"]["sent"] == sum(received.values())
    assert fake.webhook_failures == []
