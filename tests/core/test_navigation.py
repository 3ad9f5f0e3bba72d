"""The main navigation offers only pages that exist, and each role only the pages it may open."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.navigation import NAVIGATION, navigation_for
from apps.core.roles import Role
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    Role.ADMIN: ["Dashboard", "Inbox", "Tickets", "Contacts", "Campaigns", "Settings"],
    Role.AGENT: ["Dashboard", "Inbox", "Tickets", "Contacts"],
    Role.MARKETER: ["Dashboard", "Contacts", "Campaigns"],
}


def test_every_declared_item_reverses():
    assert [reverse(item.url_name) for item in NAVIGATION] == [
        "/",
        "/inbox/",
        "/tickets/",
        "/contacts/",
        "/campaigns/",
        "/settings/",
    ]


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_the_pages_it_may_use(role):
    assert [item["label"] for item in navigation_for(role, "/")] == EXPECTED[role]


@pytest.mark.parametrize("role", list(Role))
def test_every_item_a_role_sees_opens_for_that_role(role, merchant, member_client):
    client = member_client(MembershipFactory(merchant=merchant, role=role))
    statuses = {item["url"]: client.get(item["url"]).status_code for item in navigation_for(role, "/")}
    assert statuses == dict.fromkeys(statuses, 200)


def test_the_current_section_is_marked_active():
    active = [item["label"] for item in navigation_for(Role.ADMIN, "/tickets/12/") if item["active"]]
    assert active == ["Tickets"]
