"""The Procfile's `beat` and `worker` booted from a bare checkout (no var/) on PostgreSQL + Redis.

Beat used to exit at once with FileNotFoundError on var/celerybeat-schedule, and nothing periodic
ever ran. Here the heartbeat it enqueues must reach the database through a worker, again and again.
"""

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.core.health import check_scheduler
from apps.core.models import SchedulerHeartbeat
from tests.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
NOT_IN_A_CHECKOUT = ("var", ".venv", ".git", ".env", "staticfiles", "__pycache__", ".pytest_cache", ".ruff_cache")


def _procfile(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return {name.strip(): command.strip() for name, _, command in (line.partition(":") for line in lines)}


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _deploy_env() -> dict[str, str]:
    """Only the documented variables: no DJANGO_SETTINGS_MODULE, no DEBUG, nothing from this test run."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "DATABASE_URL": _database_url(),
        "DATABASE_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "CHANNELS_PREFIX": "charla-beat-boot",
        "DJANGO_SECRET_KEY": "beat-boot-test-" + "k" * 50,
        "CHARLA_ENCRYPTION_KEYS": "YmVhdC1ib290LXRlc3QtZW5jcnlwdGlvbi1rZXktMDE=",
        "CHARLA_SCHEDULER_HEARTBEAT_SECONDS": "1",
        "WORKER_CONCURRENCY": "1",
    }


def _start(command: str, cwd: Path, log: Path) -> subprocess.Popen:
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    env = _deploy_env()
    return subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _alive(*processes: subprocess.Popen) -> Callable[[], None]:
    """Between polls: fail at once when beat or the worker died, instead of waiting out the timeout."""

    def check() -> None:
        assert all(p.poll() is None for p in processes), "a process exited while waiting"

    return check


def _last_tick():
    return SchedulerHeartbeat.objects.values_list("ticked_at", flat=True).first()


def test_beat_boots_from_a_bare_checkout_and_keeps_ticking(tmp_path):
    from portal.celery import app

    checkout = tmp_path / "charla"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(*NOT_IN_A_CHECKOUT), symlinks=True)
    assert not (checkout / "var").exists()
    commands = _procfile(checkout / "Procfile")
    app.control.purge()  # heartbeats left on this Redis db by earlier tests must not count as beat's
    beat = _start(commands["beat"], checkout, tmp_path / "beat.log")
    worker = _start(commands["worker"], checkout, tmp_path / "worker.log")
    try:
        wait_until(lambda: _last_tick() is not None, 60, what="the first heartbeat", between=_alive(beat, worker))
        first = _last_tick()
        wait_until(lambda: _last_tick() > first, 20, what="a later heartbeat", between=_alive(beat, worker))
        assert beat.poll() is None
        assert check_scheduler() is None
    except AssertionError:
        print((tmp_path / "beat.log").read_text()[-3000:], (tmp_path / "worker.log").read_text()[-3000:])
        raise
    finally:
        _stop(beat)
        _stop(worker)
    # Beat made the folder and keeps only its own state there (dbm may split the file in several).
    made = sorted(p.name for p in (checkout / "var").iterdir())
    assert made, "beat wrote no schedule"
    assert all(name.startswith("celerybeat-schedule") for name in made), made
