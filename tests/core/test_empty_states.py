"""Empty lists say what to do next and offer the button that does it."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

CASES = [
    ("conversations:inbox", {"view": "all", "status": ""}, "No conversations yet.", "conversations:channels"),
    ("contacts:list", {}, "No contacts yet.", "contacts:import"),
    ("campaigns:list", {}, "No campaigns yet.", "campaigns:new"),
    ("campaigns:segments", {}, "No segments yet.", "campaigns:segment_new"),
    ("tickets:list", {}, "No tickets here.", "tickets:new"),
]


@pytest.mark.parametrize(("name", "query", "text", "action"), CASES)
def test_an_empty_list_offers_the_next_step(admin_client_, name, query, text, action):
    html = admin_client_.get(reverse(name), query).content.decode()
    block = html[html.index('<div class="empty-state">') :]
    block = block[: block.index("</div>")]
    assert f"<p>{text}" in block
    assert f'<a class="button primary" href="{reverse(action)}">' in block


def test_the_templates_page_points_at_its_own_form(admin_client_):
    html = admin_client_.get(reverse("campaigns:templates")).content.decode()
    assert '<a class="button primary" href="#new-template">' in html and 'id="new-template"' in html


def test_filtered_contacts_offer_to_clear_the_filters(admin_client_):
    html = admin_client_.get(reverse("contacts:list"), {"q": "nobody"}).content.decode()
    assert "No contacts match these filters." in html
    assert f'<a class="button primary" href="{reverse("contacts:list")}">' in html


def test_an_agent_without_import_rights_gets_no_import_button(member_client, agent_membership):
    html = member_client(agent_membership).get(reverse("contacts:list")).content.decode()
    assert "They appear here when customers write to you." in html
    assert reverse("contacts:import") not in html
