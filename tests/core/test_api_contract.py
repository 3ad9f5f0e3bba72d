"""What the schema promises about every operation, checked on the real API: pagination bounds, JSON types,
PATCH-only updates, JSON-only bodies, and the error envelope documented once and used everywhere."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories.contacts import ContactFactory
from tests.factories.conversations import CannedResponseFactory
from tests.factories.merchants import MembershipFactory

CONTACTS = "/api/v1/contacts/"


@pytest.fixture
def openapi(client) -> dict:
    return client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


@pytest.mark.parametrize("size", ["abc", "0", "201", "-1", "1.5", "", "١٢", " 12"])
def test_page_size_that_is_not_an_integer_from_1_to_200_is_400(api, merchant, size):
    ContactFactory(merchant=merchant)
    response = api.get(CONTACTS, {"page_size": size})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "validation_error",
        "message": "page_size: Give an integer from 1 to 200.",
        "fields": {"page_size": ["Give an integer from 1 to 200."]},
    }


@pytest.mark.parametrize(("size", "expected"), [("1", 1), ("200", 3)])
def test_page_size_within_bounds_sizes_the_page(api, merchant, size, expected):
    for _ in range(3):
        ContactFactory(merchant=merchant)
    response = api.get(CONTACTS, {"page_size": size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == expected


def test_put_is_not_an_update(api, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana")
    response = api.put(f"{CONTACTS}{contact.pk}/", {"name": "Bea"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    contact.refresh_from_db()
    assert contact.name == "Ana"


def test_a_form_encoded_body_is_415_and_writes_nothing(api, merchant):
    response = api.post(CONTACTS, "name=Ana", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not ContactFactory._meta.model.objects.filter(merchant=merchant).exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"shortcut": "hi", "title": "Hi", "body": 12}, "body", "Must be a string."),
        ({"shortcut": ["hi"], "title": "Hi", "body": "Hello"}, "shortcut", "Must be a string."),
    ],
)
def test_a_value_of_the_wrong_json_type_is_400_not_coerced(api, merchant, body, field, message):
    response = api.post("/api/v1/canned-responses/", body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [message]}
    assert not CannedResponseFactory._meta.model.objects.filter(merchant=merchant).exists()


def test_an_integer_id_sent_as_a_string_is_400(api, merchant):
    response = api.post("/api/v1/conversations/", {"channel": "1", "contact": "1"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "channel": ["Must be an integer."],
        "contact": ["Must be an integer."],
    }


def test_patching_a_member_without_a_role_is_400(api, merchant):
    member = MembershipFactory(merchant=merchant)
    response = api.patch(f"/api/v1/members/{member.pk}/", {})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"role": ["This field is required."]}


def test_the_error_envelope_is_one_component(openapi):
    error = openapi["components"]["schemas"]["Error"]
    detail = openapi["components"]["schemas"]["ErrorDetail"]
    assert error["properties"] == {"error": {"$ref": "#/components/schemas/ErrorDetail"}}
    assert error["required"] == ["error"]
    assert set(detail["properties"]) == {"code", "message", "fields"}
    assert detail["properties"]["fields"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_every_operation_documents_its_errors_with_the_envelope(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "429"} <= set(responses), f"{method.upper()} {path}"
            for status, response in responses.items():
                if status.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", f"{method.upper()} {path} {status}"


def test_refusals_are_documented_where_they_are_answered(openapi):
    paths = openapi["paths"]
    assert {"409", "422"} <= set(paths["/api/v1/campaigns/{id}/launch/"]["post"]["responses"])
    assert "409" in paths["/api/v1/channels/{id}/"]["delete"]["responses"]
    assert "422" in paths["/api/v1/conversations/{id}/messages/"]["post"]["responses"]
    assert "422" not in paths["/api/v1/contacts/"]["get"]["responses"]


def test_no_operation_is_a_put(openapi):
    assert [path for path, operations in openapi["paths"].items() if "put" in operations] == []


def test_page_size_and_cursor_are_documented_with_their_bounds(openapi):
    parameters = {p["name"]: p for p in openapi["paths"]["/api/v1/contacts/"]["get"]["parameters"]}
    assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert parameters["cursor"]["schema"] == {"type": "string"}
    page = openapi["components"]["schemas"]["PaginatedContactList"]
    assert page["required"] == ["next", "previous", "results"]


def test_a_member_role_patch_body_requires_the_role(openapi):
    body = openapi["paths"]["/api/v1/members/{id}/"]["patch"]["requestBody"]
    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert openapi["components"]["schemas"][ref]["required"] == ["role"]
