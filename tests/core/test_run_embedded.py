"""`make run` prints the demo logins last, once web, worker and beat are up; periodic ticks stay out of INFO."""

from __future__ import annotations

import importlib.util
import io
import logging
import socket
from pathlib import Path

import pytest

from apps.core.demo import DEMO_PASSWORD, DEMO_USERS
from portal.celery import TASK_RUN_LOGGERS, PeriodicTickFilter, ready_mark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_embedded():
    spec = importlib.util.spec_from_file_location("run_embedded", ROOT / "scripts" / "run_embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_logins_are_printed_only_after_the_port_answers_and_worker_and_beat_started(
    run_embedded, free_port, tmp_path, monkeypatch
):
    out, steps, server = io.StringIO(), [], []
    monkeypatch.setenv("CHARLA_READY_DIR", str(tmp_path))

    def alive() -> bool:
        # Each poll brings up one more piece, in the order a real start might: worker, web, then beat.
        steps.append(out.getvalue())
        if len(steps) == 1:
            ready_mark("worker")
        elif len(steps) == 2:
            listener = socket.socket()
            listener.bind(("127.0.0.1", free_port))
            listener.listen()
            server.append(listener)
        elif len(steps) == 3:
            ready_mark("beat")
        return True

    try:
        ok = run_embedded.announce_when_ready(
            host="127.0.0.1", port=free_port, ready_dir=tmp_path, alive=alive, out=out, timeout=30
        )
    finally:
        for listener in server:
            listener.close()
    assert ok is True
    assert steps == ["", "", ""]  # nothing was printed while any piece was missing
    text = out.getvalue()
    assert f"Charla is running: http://127.0.0.1:{free_port}/" in text
    for email in DEMO_USERS.values():
        assert f"{email}  /  {DEMO_PASSWORD}" in text
    assert text.rstrip().endswith(f"{DEMO_USERS['marketer']}  /  {DEMO_PASSWORD}")


def test_nothing_is_printed_when_a_process_died_before_it_was_ready(run_embedded, free_port, tmp_path):
    out = io.StringIO()
    ok = run_embedded.announce_when_ready(
        host="127.0.0.1", port=free_port, ready_dir=tmp_path, alive=lambda: False, out=out
    )
    assert (ok, out.getvalue()) == (False, "")


def test_ready_mark_writes_nothing_outside_make_run(tmp_path, monkeypatch):
    monkeypatch.delenv("CHARLA_READY_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    ready_mark("worker")
    assert list(tmp_path.iterdir()) == []


def _record(logger: str, level: int, msg: str, args) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, msg, args, None)


TICK = "apps.campaigns.tasks.campaigns_tick"
SEND = "apps.campaigns.tasks.campaign_send_batch"


@pytest.mark.parametrize(
    ("logger", "msg", "args"),
    [
        ("celery.beat", "Scheduler: Sending due task %s (%s)", ("campaigns-tick", TICK)),
        ("celery.worker.strategy", "Task %(name)s[%(id)s] received", {"name": TICK, "id": "abc"}),
        ("celery.app.trace", "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
         {"name": TICK, "id": "abc", "runtime": 0.01, "return_value": None}),
    ],
)  # fmt: skip
def test_a_periodic_tick_logs_at_debug(logger, msg, args):
    record = _record(logger, logging.INFO, msg, args)
    kept = PeriodicTickFilter(frozenset({TICK})).filter(record)
    assert (record.levelno, record.levelname) == (logging.DEBUG, "DEBUG")
    assert kept is logging.getLogger(logger).isEnabledFor(logging.DEBUG)


def test_other_tasks_and_failed_ticks_keep_their_level():
    tick_filter = PeriodicTickFilter(frozenset({TICK}))
    send = _record("celery.app.trace", logging.INFO, "Task %(name)s[%(id)s] succeeded", {"name": SEND, "id": "1"})
    failed = _record("celery.app.trace", logging.ERROR, "Task %(name)s[%(id)s] raised", {"name": TICK, "id": "2"})
    assert (tick_filter.filter(send), send.levelno) == (True, logging.INFO)
    assert (tick_filter.filter(failed), failed.levelno) == (True, logging.ERROR)


def test_the_filter_knows_every_periodic_task_and_sits_on_the_task_run_loggers(settings):
    names = PeriodicTickFilter().task_names
    assert names == {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert TICK in names
    for name in TASK_RUN_LOGGERS:
        assert any(isinstance(f, PeriodicTickFilter) for f in logging.getLogger(name).filters)
