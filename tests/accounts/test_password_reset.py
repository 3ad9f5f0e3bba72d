"""Password reset requests: one answer and the same work for every address, throttled per IP and per e-mail,
mailed by a task outside the request."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts import tasks
from tests.factories.merchants import UserFactory

pytestmark = pytest.mark.django_db

LIMITED = "Too many reset requests. Try again in 60 minutes."


@pytest.fixture(autouse=True)
def at_a_window_start(time_machine):
    time_machine.move_to(datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def queued(monkeypatch):
    jobs: list[str] = []
    monkeypatch.setattr(tasks.password_reset_send, "apply_async", lambda args, **_: jobs.append(*args))
    return jobs


def ask(client, email, ip="203.0.113.5"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_known_and_unknown_addresses_get_the_same_answer_after_the_same_work(
    client, queued, django_capture_on_commit_callbacks
):
    known = UserFactory(email="ana@example.test")
    answers, query_counts = [], []
    for email in (known.email, "nobody@example.test"):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            response = ask(client, email)
        answers.append((response.status_code, response["Location"], response.content))
        query_counts.append(len(queries))
    assert answers[0] == answers[1] == (302, reverse("password_reset_done"), b"")
    assert query_counts == [0, 0]  # neither request looks the address up: the worker does
    assert queued == ["ana@example.test", "nobody@example.test"]
    assert mail.outbox == []


def test_the_task_mails_an_active_account_only_with_a_link_on_the_public_address(settings):
    settings.PUBLIC_BASE_URL = "https://portal.example"
    user = UserFactory(email="ana@example.test")
    UserFactory(email="gone@example.test", is_active=False)
    assert tasks.password_reset_send("nobody@example.test") == 0
    assert tasks.password_reset_send("gone@example.test") == 0
    assert tasks.password_reset_send("ANA@example.test") == 1
    (sent,) = mail.outbox
    assert sent.to == [user.email]
    assert re.search(r"https://portal\.example/accounts/reset/[^/\s]+/[^/\s]+/", sent.body)


@pytest.mark.parametrize("email", ["ana@example.test", "nobody@example.test"])
def test_requests_for_one_address_are_throttled_alike_whether_it_has_an_account(client, queued, email):
    UserFactory(email="ana@example.test")
    for n in range(3):
        assert ask(client, email.upper() if n else email, ip=f"203.0.113.{n + 1}").status_code == 302
    refused = ask(client, email, ip="203.0.113.9")
    assert refused.status_code == 429
    assert list(refused.context["form"].non_field_errors()) == [LIMITED]
    assert LIMITED in refused.content.decode()


def test_requests_from_one_ip_are_throttled_across_addresses(client, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [ask(client, f"person{n}@example.test").status_code for n in range(7)]
    assert statuses == [302] * 5 + [429] * 2
    assert queued == [f"person{n}@example.test" for n in range(5)]  # nothing queued for a refused request
    assert ask(client, "person9@example.test", ip="198.51.100.3").status_code == 302
