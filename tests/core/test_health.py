import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core import health
from apps.core.models import SchedulerHeartbeat
from apps.core.services import scheduler_heartbeat_record
from apps.core.tasks import scheduler_heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduler_ticked(db):
    """A healthy deployment: beat's heartbeat was run by a worker a moment ago."""
    scheduler_heartbeat_record()


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_every_part_answers(client, scheduler_ticked):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


@pytest.fixture
def past_the_first_tick(monkeypatch, settings):
    """This web process has run longer than a first heartbeat may take."""
    monkeypatch.setattr(health, "PROCESS_STARTED", time.monotonic() - settings.SCHEDULER_STALE_SECONDS - 1)


def test_a_fresh_process_is_ready_while_the_first_tick_is_not_yet_due(client, monkeypatch):
    monkeypatch.setattr(health, "PROCESS_STARTED", time.monotonic())
    response = client.get("/readyz")
    assert response.status_code == 200, response.content


def test_readyz_is_not_ready_before_the_scheduler_ever_ticked(client, past_the_first_tick):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == "scheduler"
    assert body["checks"] == {"scheduler": "no scheduler tick recorded yet: beat and a worker must both run"}


def test_readyz_turns_ready_once_the_heartbeat_task_runs(client, past_the_first_tick):
    assert client.get("/readyz").status_code == 503
    scheduler_heartbeat.apply()  # what a worker does with the message beat enqueued
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_readyz_fails_when_the_last_tick_is_older_than_the_limit(client, settings, scheduler_ticked):
    settings.SCHEDULER_STALE_SECONDS = 60
    SchedulerHeartbeat.objects.update(ticked_at=timezone.now() - timedelta(seconds=61))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == "scheduler"
    assert body["checks"]["scheduler"] == "last scheduler tick 61 s ago (limit 60 s): is beat running?"


def test_a_tick_within_the_limit_is_ready(client, settings, scheduler_ticked):
    settings.SCHEDULER_STALE_SECONDS = 60
    SchedulerHeartbeat.objects.update(ticked_at=timezone.now() - timedelta(seconds=50))
    assert client.get("/readyz").status_code == 200


def test_heartbeats_keep_one_row_and_move_forward(scheduler_ticked):
    first = SchedulerHeartbeat.objects.get().ticked_at
    SchedulerHeartbeat.objects.update(ticked_at=first - timedelta(minutes=5))
    scheduler_heartbeat_record()
    assert SchedulerHeartbeat.objects.count() == 1
    assert SchedulerHeartbeat.objects.get().ticked_at >= first


def test_beat_schedules_the_heartbeat_within_the_staleness_window(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["core-scheduler-heartbeat"]
    assert entry["task"] == scheduler_heartbeat.name
    assert entry["schedule"] == settings.SCHEDULER_HEARTBEAT_SECONDS == 20.0
    assert settings.SCHEDULER_STALE_SECONDS == 60.0


def test_readyz_names_the_failing_part(client, monkeypatch, scheduler_ticked):
    def broken():
        raise ConnectionError("connection refused")

    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == "broker"
    assert "connection refused" in body["checks"]["broker"]


def test_readyz_fails_when_the_cache_server_is_unreachable(client, settings, scheduler_ticked):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == "cache"


def test_unknown_api_path_answers_in_the_error_format(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Not found" in response.content
