"""A whole transaction run again when PostgreSQL broke a lock cycle (deadlock) or a serialization conflict.

The writers share one lock order (docs/architecture.md, DR-81), so a cycle should not form; the few
request entry points where a person waits for the answer call this explicitly, so that a cycle a future change
brings back is a short wait for them and a warning in the log, not a 500. Never around a call with an outside
effect (a send to Meta): running it again would repeat the effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, transaction
from psycopg import errors as pg_errors

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRYABLE: tuple[type[BaseException], ...] = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


def retry_on_conflict(fn: Callable[[], T], *, attempts: int = 3, using: str | None = None) -> T:
    """fn() (which opens its own transaction), run up to `attempts` times while it fails with a deadlock or a
    serialization failure; any other error, or the last one, is raised. Inside a caller's transaction it runs
    once: PostgreSQL aborted the caller's whole transaction, which only the caller can run again."""
    if transaction.get_connection(using).in_atomic_block:
        attempts = 1
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            if attempt == attempts or not isinstance(exc.__cause__, RETRYABLE):
                raise
            logger.warning(
                "core.transaction_retried", extra={"attempt": attempt, "error": type(exc.__cause__).__name__}
            )
    raise AssertionError("unreachable")  # the loop returns or raises
