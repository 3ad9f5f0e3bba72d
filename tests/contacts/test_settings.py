import pytest

from apps.contacts.models import AttributeDefinition, ConsentKeyword

pytestmark = pytest.mark.django_db


def test_keyword_api_normalises_and_refuses_duplicates(api):
    response = api.post("/api/v1/consent-keywords/", {"word": "  Párate! ", "kind": "opt_out", "language": "es"},
                        format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["word"] == "parate"
    again = api.post("/api/v1/consent-keywords/", {"word": "PARATE", "kind": "opt_out"}, format="json")
    assert again.status_code == 400 and "word" in again.json()["error"]["fields"]
    bad = api.post("/api/v1/consent-keywords/", {"word": "x", "kind": "maybe"}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]
    keyword = ConsentKeyword.objects.get()
    assert api.delete(f"/api/v1/consent-keywords/{keyword.pk}/").status_code == 204
    assert not ConsentKeyword.objects.exists()


def test_attribute_api_then_contact_uses_it(api):
    response = api.post("/api/v1/contact-attributes/", {"key": "orders", "label": "Orders", "type": "number"},
                        format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    dup = api.post("/api/v1/contact-attributes/", {"key": "orders", "label": "x", "type": "text"}, format="json")
    assert dup.status_code == 400 and "key" in dup.json()["error"]["fields"]
    contact = api.post("/api/v1/contacts/", {"phone": "+34600111001", "attributes": {"orders": "4"}}, format="json")
    assert contact.status_code == 201 and contact.json()["attributes"] == {"orders": 4}
    bad = api.post("/api/v1/contacts/", {"phone": "+34600111002", "attributes": {"orders": "many"}}, format="json")
    assert bad.status_code == 400 and "orders must be a number" in bad.json()["error"]["fields"]["attributes"][0]
    assert AttributeDefinition.objects.count() == 1


def test_agent_lists_but_cannot_change_settings(member_client, agent_membership):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(agent_membership.user)
    assert client.get("/api/v1/consent-keywords/").status_code == 200
    response = client.post("/api/v1/consent-keywords/", {"word": "x", "kind": "help"}, format="json")
    assert response.status_code == 403
