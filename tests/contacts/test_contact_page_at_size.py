"""The contact page at any depth of its consent ledger: keyset pages, exact constant query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.contacts import views
from apps.contacts.services import consent_record
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_c(member_client, admin_membership):
    return member_client(admin_membership)


@pytest.fixture
def contact(merchant, monkeypatch):
    monkeypatch.setattr(views, "LEDGER_PAGE", 3)
    contact = ContactFactory(merchant=merchant)
    for i in range(12):
        consent_record(
            merchant=merchant, contact=contact, channel="whatsapp", purpose="marketing",
            action="revoke" if i % 2 else "grant", source="web_form", wording=f"Offers {i}",
        )  # fmt: skip
    for _ in range(12):
        ConversationFactory(merchant=merchant, contact=contact, status="resolved")
    return contact


def _events(response) -> list[int]:
    return [item["event"].pk for item in response.context["history"]]


def test_a_deep_ledger_page_costs_the_queries_of_the_first(admin_c, contact, django_assert_num_queries):
    page = reverse("contacts:detail", args=[contact.pk])
    newest = list(contact.consent_events.order_by("-occurred_at", "-id").values_list("id", flat=True))
    with django_assert_num_queries(13):  # the ledger's merged family is one of them
        first = admin_c.get(page)
    assert _events(first) == newest[:3] and first.context["ledger_older_url"]
    cursors, response = [], first
    while response.context["ledger_older_url"]:
        cursors.append(response.context["ledger_older_url"])
        with django_assert_num_queries(13):
            response = admin_c.get(page + response.context["ledger_older_url"].split("#")[0])
    assert _events(response) == newest[9:12] and len(cursors) == 3
    assert response.content.count(b"Newest events") == 1


def test_the_page_shows_the_newest_conversations_only(admin_c, contact):
    response = admin_c.get(reverse("contacts:detail", args=[contact.pk]))
    assert response.content.count(b"/inbox/c/") == 10 and b"The 10 newest are shown." in response.content


def test_a_ledger_cursor_that_is_not_ours_shows_the_newest_events(admin_c, contact):
    response = admin_c.get(reverse("contacts:detail", args=[contact.pk]), {"ledger_before": "nonsense"})
    assert response.status_code == 200 and len(response.context["history"]) == 3
