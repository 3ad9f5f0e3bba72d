"""A real Celery worker (and beat) on Redis, SIGKILLed in the middle of a campaign and restarted.

The fake provider holds every answer for a while, so the kill lands with requests in flight. At the
end every consented contact has exactly one message at the provider and everyone else none; the
claims whose outcome was unknown are settled by status webhooks carrying biz_opaque_callback_data.
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

from apps.campaigns.models import Campaign, Delivery, DeliveryState
from apps.campaigns.services import campaign_launch
from apps.conversations import hooks
from tests.campaigns.fake_provider import FakeProvider

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(tmp_path: Path, graph_url: str, n: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DATABASE_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "META_GRAPH_API_URL": graph_url,
        "CAMPAIGNS_LEASE_SECONDS": "3",
        "CAMPAIGNS_HEARTBEAT_STALE_SECONDS": "2",
        "CAMPAIGNS_HTTP_CONCURRENCY": "10",
        "CAMPAIGNS_SENDERS": "2",
    }
    log = open(tmp_path / f"worker-{n}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-B",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "-s",
            str(tmp_path / "beat-schedule"),
            "--loglevel",
            "INFO",
            "-n",
            f"crash{n}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_campaign_neither_duplicates_nor_loses(tmp_path, make_contact, make_campaign, channel):
    from portal.celery import app

    app.control.purge()  # tasks left on this Redis db by earlier tests must not run against this database
    fake = FakeProvider(delay=0.3)
    try:
        consented = [make_contact(tags=["spring"]) for _ in range(60)]
        refused = [make_contact(tags=["spring"], consent=c) for c in ("pending", "revoked", None, None)]
        campaign = make_campaign(rules={"tags_any": ["spring"]}, throttle_per_second=20)
        campaign_launch(campaign=campaign)

        worker = _start_worker(tmp_path, fake.url, 1)
        try:
            _wait(lambda: len(fake.requests) >= 25, 60, "the second chunk to reach the provider")
            time.sleep(0.1)
        finally:
            _kill(worker)  # SIGKILL the worker, its children and beat: a machine losing power
        killed_with = len(fake.requests)
        assert killed_with < len(consented), "the kill must land mid-campaign"

        worker = _start_worker(tmp_path, fake.url, 2)
        try:
            _wait(lambda: Campaign.objects.get(pk=campaign.pk).status == "completed", 90, "the campaign to complete")
        finally:
            _kill(worker)

        unknown_before = Delivery.objects.filter(campaign=campaign, state=DeliveryState.UNKNOWN).count()
        assert unknown_before > 0, "requests in flight at the kill must end up unknown, not resent"
        for item in list(fake.accepted):  # Meta reports every accepted message back, opaque data included
            hooks.dispatch_status(
                channel=channel,
                provider_message_id=item["wamid"],
                status="delivered",
                timestamp=str(int(time.time())),
                error_code=None,
                error_message="",
                opaque=item["opaque"],
            )

        received = fake.per_recipient()
        missing = [c.pk for c in consented if not received[c.phone.lstrip("+")]]
        detail = list(
            Delivery.objects.filter(contact_id__in=missing).values_list("state", "error_code", "dispatched_at")
        )
        assert not missing, f"never received: {detail}"
        assert {c.phone.lstrip("+"): received[c.phone.lstrip("+")] for c in consented} == {
            c.phone.lstrip("+"): 1 for c in consented
        }
        assert all(received[c.phone.lstrip("+")] == 0 for c in refused)
        assert len(fake.requests) == len(consented)  # nothing was even attempted twice
        states = Delivery.objects.filter(campaign=campaign)
        assert states.filter(state=DeliveryState.DELIVERED).count() == len(consented)
        assert states.filter(state__in=["unknown", "claimed", "pending"]).count() == 0
        assert states.filter(state=DeliveryState.SKIPPED).count() == len(refused)
    finally:
        fake.close()
