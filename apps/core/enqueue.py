"""Enqueue a Celery task once the current transaction commits: the one way services start tasks.

A task started inside a transaction can run before the rows it reads are committed (or for rows a
rollback then removes). Tasks are named, not imported, so a service never imports its app's `tasks`
module: tasks import services, and the reverse import would be a cycle.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app
from celery.exceptions import NotRegistered
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, *args: Any, using: str | None = None, **options: Any) -> None:
    """Apply `task_name` (its registered name, e.g. "apps.campaigns.tasks.campaign_send") with `args`
    after the transaction on `using` commits, at once when none is open. `options` go to apply_async
    (countdown, queue, ...)."""
    task = _task(task_name)

    def apply() -> None:
        # The write is already committed: a broker that is down must not turn it into an error page.
        # The rows stay in the state their beat sweep picks up again (queued messages, stale events).
        try:
            task.apply_async(args=args, **options)
        except (OperationalError, OSError):
            logger.exception("core.enqueue_failed", extra={"task": task_name})

    transaction.on_commit(apply, using=using)


def _task(task_name: str) -> Task:
    """The registered task; NotRegistered (a KeyError) now, in the caller, for a misspelt name."""
    try:
        return current_app.tasks[task_name]
    except NotRegistered:
        # Autodiscovery of the apps' tasks modules runs when a worker starts; a web process has not run it.
        current_app.loader.import_default_modules()
        return current_app.tasks[task_name]
