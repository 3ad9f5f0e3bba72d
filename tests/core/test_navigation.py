"""The main navigation offers only pages that exist, and each role only the pages it may open."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.core.navigation import NAVIGATION, navigation_for
from apps.core.roles import Role
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    Role.ADMIN: ["Dashboard", "Inbox", "Tickets", "Contacts", "Campaigns", "Reports", "Sandbox phone", "Settings"],
    Role.AGENT: ["Dashboard", "Inbox", "Tickets", "Contacts"],
    Role.MARKETER: ["Dashboard", "Contacts", "Campaigns", "Reports", "Sandbox phone"],
}


def test_every_declared_item_reverses():
    assert [reverse(item.url_name) for item in NAVIGATION] == [
        "/",
        "/inbox/",
        "/tickets/",
        "/contacts/",
        "/campaigns/",
        "/reports/",
        "/sandbox/phone/",
        "/settings/",
    ]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETER])
def test_the_sandbox_phone_is_offered_only_while_the_sandbox_is_on(role, settings):
    settings.CHARLA_SANDBOX = False
    assert "Sandbox phone" not in [item["label"] for item in navigation_for(role, "/")]


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


SETTINGS_HUB = {
    "General": "/settings/",
    "Members": "/settings/members/",
    "Channels": "/inbox/channels/",
    "API keys": "/settings/api-keys/",
    "Consent & keywords": "/contacts/settings/",
    "Business hours & SLAs": "/tickets/settings/hours/",
    "Teams": "/tickets/settings/teams/",
}


def _settings_links(html: str) -> dict[str, str]:
    import re

    nav = html.split('<nav aria-label="Settings" class="subnav">', 1)[1].split("</nav>", 1)[0]
    return {label: href for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)}


@pytest.mark.parametrize("path", SETTINGS_HUB.values())
def test_every_settings_page_shows_the_one_settings_nav(path, admin_client_):
    response = admin_client_.get(path)
    assert response.status_code == 200
    html = response.content.decode().replace("&amp;", "&")
    assert _settings_links(html) == SETTINGS_HUB
    current = html.split('aria-current="page">', 2)[2].split("<", 1)[0]  # the first is the main nav's
    assert SETTINGS_HUB[current] == path


def test_settings_pages_of_other_apps_mark_their_item(admin_client_):
    html = admin_client_.get(reverse("conversations:widget_new")).content.decode()
    assert html.count('aria-current="page">Channels</a>') == 1
    html = admin_client_.get(reverse("tickets:policies_list")).content.decode().replace("&amp;", "&")
    assert 'aria-current="page">Business hours & SLAs</a>' in html


def test_a_marketer_sees_only_the_settings_it_may_open(marketer_membership, member_client):
    client = member_client(marketer_membership)
    html = client.get("/contacts/settings/").content.decode().replace("&amp;", "&")
    assert _settings_links(html) == {"Consent & keywords": "/contacts/settings/"}
    assert {client.get(path).status_code for path in SETTINGS_HUB.values() if path != "/contacts/settings/"} == {403}


def test_a_settings_page_under_another_apps_url_marks_settings_in_the_main_nav(admin_client_):
    html = admin_client_.get(reverse("conversations:channels")).content.decode()
    main = html.split('<nav aria-label="Main" class="mainnav">', 1)[1].split("</nav>", 1)[0]
    assert main.count('aria-current="page"') == 1
    assert re.search(r'aria-current="page">(<svg [^>]*>.*?</svg>)?Settings</a>', main)
