import pytest
from celery import shared_task
from django.db import transaction

from apps.core.enqueue import enqueue_on_commit

ran: list[tuple] = []


@shared_task(name="tests.core.test_enqueue.record")
def record(*args: object) -> None:
    ran.append(args)


@pytest.fixture(autouse=True)
def _eager(settings):
    from portal.celery import app

    ran.clear()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.django_db(transaction=True)
def test_runs_only_after_the_transaction_commits():
    with transaction.atomic():
        enqueue_on_commit("tests.core.test_enqueue.record", 7, "x")
        assert ran == []
    assert ran == [(7, "x")]


@pytest.mark.django_db(transaction=True)
def test_a_rollback_drops_the_task():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit("tests.core.test_enqueue.record", 1)
        raise RuntimeError("rolled back")
    assert ran == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_runs_at_once():
    enqueue_on_commit("tests.core.test_enqueue.record", 2)
    assert ran == [(2,)]


def test_an_unknown_task_name_fails_in_the_caller():
    with pytest.raises(KeyError):
        enqueue_on_commit("apps.nowhere.tasks.missing", 1)


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_is_logged_not_raised(monkeypatch, caplog):
    def down(*args: object, **options: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(record, "apply_async", down)
    enqueue_on_commit("tests.core.test_enqueue.record", 3)
    assert ran == [] and [r.message for r in caplog.records] == ["core.enqueue_failed"]


@pytest.mark.django_db(transaction=True)
def test_a_bug_in_enqueueing_is_not_swallowed(monkeypatch):
    def broken(*args: object, **options: object) -> None:
        raise TypeError("bad arguments")

    monkeypatch.setattr(record, "apply_async", broken)
    with pytest.raises(TypeError):
        enqueue_on_commit("tests.core.test_enqueue.record", 4)
