"""retry_on_conflict: a transaction PostgreSQL broke to end a lock cycle runs again; nothing else does."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction
from psycopg import errors as pg_errors

from apps.core.transactions import retry_on_conflict


def _failing(causes: list[BaseException | None]):
    calls = []

    def fn():
        calls.append(len(calls))
        cause = causes[len(calls) - 1] if len(calls) <= len(causes) else None
        if cause is None:
            return "done"
        raise OperationalError(str(cause)) from cause

    return fn, calls


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "cause", [pg_errors.DeadlockDetected("deadlock detected"), pg_errors.SerializationFailure("x")]
)
def test_a_deadlock_or_serialization_failure_runs_the_transaction_again(cause):
    fn, calls = _failing([cause, cause])
    assert retry_on_conflict(fn) == "done"
    assert len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_the_last_attempt_s_deadlock_is_raised():
    fn, calls = _failing([pg_errors.DeadlockDetected("deadlock detected")] * 3)
    with pytest.raises(OperationalError, match="deadlock"):
        retry_on_conflict(fn)
    assert len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_any_other_database_error_is_raised_at_once():
    fn, calls = _failing([pg_errors.QueryCanceled("statement timeout")])
    with pytest.raises(OperationalError, match="statement timeout"):
        retry_on_conflict(fn)
    assert len(calls) == 1


@pytest.mark.django_db
def test_inside_a_callers_transaction_a_deadlock_is_the_callers_to_retry():
    fn, calls = _failing([pg_errors.DeadlockDetected("deadlock detected")])
    with transaction.atomic(), pytest.raises(OperationalError, match="deadlock"):
        retry_on_conflict(fn)
    assert len(calls) == 1
