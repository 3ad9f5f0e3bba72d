"""A refused request is one log line (path, user id, reason), never a traceback, and is printed once."""

import logging

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _request_records(caplog):
    return [r for r in caplog.records if r.name == "django.request"]


def test_a_403_logs_one_line_with_path_user_and_reason(member_client, agent_membership, caplog):
    with caplog.at_level(logging.INFO):
        response = member_client(agent_membership).get(reverse("merchants:settings"))
    assert response.status_code == 403
    records = _request_records(caplog)
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in records] == [
        (
            "WARNING",
            f"forbidden path=/settings/ user={agent_membership.user.pk} reason=Your role cannot use settings.",
            None,
        )
    ]
    assert "Traceback" not in caplog.text


def test_a_403_for_a_user_without_membership_says_so(client, caplog):
    from tests.factories.merchants import UserFactory

    user = UserFactory()
    client.force_login(user)
    with caplog.at_level(logging.INFO):
        assert client.get(reverse("core:dashboard")).status_code == 403
    assert [r.getMessage() for r in _request_records(caplog)] == [
        f"forbidden path=/ user={user.pk} reason=no membership of a merchant"
    ]


def test_other_errors_keep_their_record(member_client, admin_membership, caplog):
    with caplog.at_level(logging.INFO):
        assert member_client(admin_membership).get("/contacts/999999/").status_code == 404
    assert [r.getMessage() for r in _request_records(caplog)] == ["Not Found: /contacts/999999/"]


def test_django_records_reach_the_console_once():
    # Django's default "django" console handler beside the root's printed every record twice under DEBUG.
    assert logging.getLogger("django").handlers == []
    assert [type(h).__name__ for h in logging.getLogger().handlers if type(h).__name__ == "StreamHandler"] == [
        "StreamHandler"
    ]


def test_the_line_keeps_its_reason_when_the_filter_runs_twice(member_client, agent_membership, caplog):
    """Logging configured twice leaves two filters on `django.request`: the second must not rewrite the line."""
    from apps.core.request_log import ForbiddenOneLine

    logger = logging.getLogger("django.request")
    extra = ForbiddenOneLine()
    logger.addFilter(extra)
    try:
        with caplog.at_level(logging.INFO):
            member_client(agent_membership).get(reverse("merchants:settings"))
    finally:
        logger.removeFilter(extra)
    assert [r.getMessage() for r in _request_records(caplog)] == [
        f"forbidden path=/settings/ user={agent_membership.user.pk} reason=Your role cannot use settings."
    ]
