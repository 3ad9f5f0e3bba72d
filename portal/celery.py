import logging
import os
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import beat_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Loggers that write one INFO line per run of a task: beat's "Sending due task", the worker's "received"
# and "succeeded".
TASK_RUN_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")
# Set by `make run` (scripts/run_embedded.py): the worker and beat each leave a file there once started,
# and the demo logins are printed when both have (and the web port answers), below their start-up output.
READY_DIR_ENV = "CHARLA_READY_DIR"


class BeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler that first creates the schedule file's folder.

    A bare checkout or a fresh container has no var/; without this beat exits at once and
    nothing periodic ever runs.
    """

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()


class PeriodicTickFilter(logging.Filter):
    """Runs of the periodic tasks log at DEBUG, not INFO: the campaign tick alone runs every two seconds,
    and three lines per tick bury everything else (the demo logins of `make run` among them). A failed
    tick still logs at ERROR."""

    def __init__(self, task_names: frozenset[str] | None = None) -> None:
        super().__init__()
        self._task_names = task_names

    @property
    def task_names(self) -> frozenset[str]:
        if self._task_names is None:  # read late: the settings are not loaded when this module is imported
            from django.conf import settings

            self._task_names = frozenset(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())
        return self._task_names

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        message = record.getMessage()
        if not any(name in message for name in self.task_names):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_tick_filter = PeriodicTickFilter()
for _name in TASK_RUN_LOGGERS:
    logging.getLogger(_name).addFilter(_tick_filter)


def ready_mark(name: str) -> None:
    folder = os.environ.get(READY_DIR_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).touch()


@worker_ready.connect
def worker_ready_mark(**_) -> None:
    ready_mark("worker")


@beat_init.connect
def beat_ready_mark(**_) -> None:
    ready_mark("beat")
