import csv
import io
import json

import pytest
from django.urls import reverse

from apps.contacts.models import ConsentEvent, ConsentState, Contact, ContactIdentity
from tests.factories.contacts import ContactFactory, IdentityFactory, grant

pytestmark = pytest.mark.django_db
LIST = "/api/v1/contacts/"


def test_create_contact_with_whatsapp_id_sets_phone_and_identity(api):
    response = api.post(LIST, {"name": "Ana", "whatsapp_id": "34600111222", "tags": ["vip"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["phone"], body["whatsapp_id"], body["tags"], body["messenger_psid"]) == (
        "+34600111222", "34600111222", ["vip"], None,
    )  # fmt: skip
    assert set(body) >= {"id", "name", "phone", "email", "whatsapp_id", "messenger_psid", "timezone", "locale",
                         "tags", "attributes"}  # fmt: skip


def test_invalid_phone_is_400_with_field(api):
    response = api.post(LIST, {"name": "Ana", "phone": "12"}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]
    assert not Contact.objects.exists()


def test_duplicate_phone_is_400_with_a_clear_message(api, merchant):
    ContactFactory(merchant=merchant, phone="+34600111222")
    response = api.post(LIST, {"phone": "+34 600 111 222"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["phone"] == ["A contact with this phone number already exists."]


EMPTY = "Give the contact a name, a phone number or an e-mail address."


@pytest.mark.parametrize("body", [{}, {"name": "   ", "phone": "", "email": ""}, {"tags": ["vip"]}])
def test_an_empty_contact_is_refused_in_the_error_envelope(api, body):
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "validation_error", "message": EMPTY, "fields": {"non_field_errors": [EMPTY]}}
    }
    assert not Contact.objects.exists()


def test_a_messenger_id_alone_is_a_reachable_contact(api):
    response = api.post(LIST, {"messenger_psid": "2700112233"}, format="json")
    assert response.status_code == 201, response.json()


def test_blanking_every_way_to_know_a_contact_is_refused(api, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana", phone="", email="ana@x.test")
    response = api.patch(f"{LIST}{contact.pk}/", {"name": "", "email": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"non_field_errors": [EMPTY]}
    contact.refresh_from_db()
    assert (contact.name, contact.email) == ("Ana", "ana@x.test")


def test_bad_types_are_400_not_500(api):
    response = api.post(LIST, {"name": {"x": 1}, "tags": "vip", "attributes": []}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"name", "tags", "attributes"}


def test_undefined_attribute_is_refused(api):
    response = api.post(LIST, {"phone": "+34600111222", "attributes": {"shoe_size": 42}}, format="json")
    assert response.status_code == 400
    assert "shoe_size" in response.json()["error"]["fields"]["attributes"][0]


def test_patch_updates_profile_and_identities(api, merchant):
    contact = ContactFactory(merchant=merchant)
    response = api.patch(f"{LIST}{contact.pk}/", {"messenger_psid": "PSID-9", "locale": "es"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["messenger_psid"], response.json()["locale"]) == ("PSID-9", "es")


@pytest.mark.parametrize(
    ("query", "expected"),
    [("phone=%2B34600111001", ["a"]), ("whatsapp_id=34600111001", ["a"]), ("tag=vip", ["a", "b"]),
     ("consent=whatsapp:granted", ["b"]), ("consent=whatsapp:marketing:none", ["a", "c"]), ("q=Bea", ["b"]),
     ("email=C%40X.TEST", ["c"]), ("channel=whatsapp", ["a"]), ("whatsapp_user_id=ES.1729304857612093", ["b"]),
     ("whatsapp_user_id=ES.17293", []), ("channel=whatsapp_user", ["b"])],
)  # fmt: skip
def test_list_filters(api, merchant, query, expected):
    a = ContactFactory(merchant=merchant, name="Ana", phone="+34600111001", tags=["vip"])
    b = ContactFactory(merchant=merchant, name="Bea", tags=["vip", "x"])
    c = ContactFactory(merchant=merchant, name="Carl", email="c@x.test", tags=[])
    IdentityFactory(contact=a, kind="whatsapp", external_id="34600111001")
    IdentityFactory(contact=b, kind="whatsapp_user", external_id="ES.1729304857612093")
    grant(b)
    names = {a.pk: "a", b.pk: "b", c.pk: "c"}
    response = api.get(f"{LIST}?{query}")
    assert response.status_code == 200, response.json()
    assert sorted(names[r["id"]] for r in response.json()["results"]) == expected


def test_the_business_scoped_user_id_is_shown_and_read_only(api, merchant):
    contact = ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=contact, kind="whatsapp_user", external_id="ES.1729304857612093")
    shown = api.get(f"{LIST}{contact.pk}/").json()
    assert (shown["whatsapp_user_id"], shown["whatsapp_id"], shown["phone"]) == ("ES.1729304857612093", None, "")
    response = api.patch(f"{LIST}{contact.pk}/", {"whatsapp_user_id": "US.1", "locale": "es"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["whatsapp_user_id"], response.json()["locale"]) == ("ES.1729304857612093", "es")
    assert Contact.objects.get(pk=contact.pk).identities.get().external_id == "ES.1729304857612093"


def test_bad_consent_filter_is_400(api):
    response = api.get(f"{LIST}?consent=pigeon:granted")
    assert response.status_code == 400 and "consent" in response.json()["error"]["fields"]


def test_list_is_cursor_paginated_with_constant_queries(api, merchant, django_assert_num_queries):
    for _ in range(3):
        IdentityFactory(contact=ContactFactory(merchant=merchant))
    api.get(LIST)  # warm the key's last-used write
    with django_assert_num_queries(3) as small:
        api.get(f"{LIST}?page_size=2")
    for _ in range(20):
        IdentityFactory(contact=ContactFactory(merchant=merchant))
    with django_assert_num_queries(len(small.captured_queries)):
        response = api.get(f"{LIST}?page_size=20")
    body = response.json()
    assert len(body["results"]) == 20 and body["next"]
    assert len(api.get(body["next"]).json()["results"]) == 3


def test_erased_and_merged_contacts_are_not_listed(api, merchant):
    from django.utils import timezone

    keep = ContactFactory(merchant=merchant)
    ContactFactory(merchant=merchant, erased_at=timezone.now())
    ContactFactory(merchant=merchant, merged_into=keep)
    assert [r["id"] for r in api.get(LIST).json()["results"]] == [keep.pk]


# ------------------------------------------------------------------ consents
def test_consents_get_returns_state_grid_and_events(api, merchant):
    contact = ContactFactory(merchant=merchant)
    grant(contact, ip_address="1.2.3.4")
    body = api.get(f"{LIST}{contact.pk}/consents/").json()
    state = {(s["channel"], s["purpose"]): s["status"] for s in body["state"]}
    assert state[("whatsapp", "marketing")] == "granted" and state[("email", "utility")] == "none"
    assert len(body["state"]) == 10
    event = body["events"][0]
    assert {"id", "channel", "purpose", "action", "source", "wording", "at"} <= set(event)
    assert (event["action"], event["ip_address"]) == ("grant", "1.2.3.4")


def test_consents_post_records_one_event(api, merchant):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "web_form",
               "wording": "Email me offers", "evidence_url": "https://shop.test/signup",
               "ip_address": "2001:db8::1"}  # fmt: skip
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["actor_label"].startswith("API key")
    assert ConsentState.objects.get(contact=contact).status == "granted"


@pytest.mark.parametrize("field", ["channel", "purpose", "action", "source"])
def test_consents_post_bad_choice_names_the_field(api, merchant, field):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "api", "wording": "x"}
    payload[field] = "nonsense"
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not ConsentEvent.objects.exists()


def test_consents_post_without_wording_is_refused(api, merchant):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "api"}
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 400 and "wording" in response.json()["error"]["fields"]


# ------------------------------------------------------------------ privacy, merge, import
def test_export_and_erase(api, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana")
    grant(contact)
    export = api.get(f"{LIST}{contact.pk}/export/")
    assert export.status_code == 200 and export.json()["profile"]["name"] == "Ana"
    assert api.delete(f"{LIST}{contact.pk}/").status_code == 204
    contact.refresh_from_db()
    assert contact.erased_at and contact.name == ""
    assert api.get(f"{LIST}{contact.pk}/").status_code == 404


def test_merge(api, merchant):
    source, target = ContactFactory(merchant=merchant), ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=source, kind="messenger", external_id="PSID-1")
    response = api.post(f"{LIST}{target.pk}/merge/", {"source": source.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["messenger_psid"] == "PSID-1"


def test_ledger_export_csv(api, merchant):
    grant(ContactFactory(merchant=merchant, name="Ana"))
    response = api.get(reverse("api:consent-event-export"))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["contact_name"] == "Ana" and rows[0]["action"] == "grant"


def test_consent_event_list(api, merchant):
    contact = ContactFactory(merchant=merchant)
    grant(contact)
    response = api.get(f"/api/v1/consent-events/?contact={contact.pk}")
    assert [e["contact_id"] for e in response.json()["results"]] == [contact.pk]


IMPORT = "/api/v1/contacts/import/"
CSV_TEXT = "Phone,Name\n+34600111001,Ana\n+34600111002,Bob\n"


def test_import_multipart(api):
    upload = io.BytesIO(CSV_TEXT.encode())
    upload.name = "list.csv"
    response = api.post(IMPORT, {"file": upload, "mapping": json.dumps({"Phone": "phone", "Name": "name"})},
                        format="multipart")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    assert Contact.objects.count() == 2


def test_import_csv_body_dry_run(api):
    mapping = json.dumps({"Phone": "phone", "Name": "name"})
    response = api.generic("POST", f"{IMPORT}?dry_run=1&mapping={mapping}", CSV_TEXT, content_type="text/csv")
    assert response.status_code == 200, response.json()
    assert (response.json()["ok"], response.json()["created"], response.json()["import_id"]) == (True, 2, None)
    assert not Contact.objects.exists()


def test_import_with_errors_is_400_and_changes_nothing(api):
    body = {"csv": CSV_TEXT + "bad,Carl\n", "mapping": {"Phone": "phone", "Name": "name"}}
    response = api.post(IMPORT, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "import_invalid" and "line 4" in error["fields"]
    assert not Contact.objects.exists() and not ContactIdentity.objects.exists()


def test_import_without_file_or_mapping_is_400(api):
    assert api.post(IMPORT, {"mapping": {"a": "phone"}}, format="json").status_code == 400
    assert api.post(IMPORT, {"csv": CSV_TEXT}, format="json").status_code == 400


# ------------------------------------------------------------------ roles
def _session_api(membership):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(membership.user)
    return client


def test_agent_can_read_edit_and_record_consent_but_not_import_export_erase(agent_membership, merchant):
    client = _session_api(agent_membership)
    contact = ContactFactory(merchant=merchant)
    assert client.get(LIST).status_code == 200
    assert client.patch(f"{LIST}{contact.pk}/", {"name": "New"}, format="json").status_code == 200
    payload = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "agent", "wording": "Said yes"}
    response = client.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 201 and response.json()["actor"] == agent_membership.user.email
    assert client.post(IMPORT, {"csv": CSV_TEXT, "mapping": {"Phone": "phone"}}, format="json").status_code == 403
    assert client.get(f"{LIST}{contact.pk}/export/").status_code == 403
    assert client.delete(f"{LIST}{contact.pk}/").status_code == 403
    assert client.get(reverse("api:consent-event-export")).status_code == 403
    assert Contact.objects.count() == 1 and Contact.objects.get().erased_at is None


def test_marketer_can_import_and_erase(marketer_membership, merchant):
    client = _session_api(marketer_membership)
    assert client.post(IMPORT, {"csv": CSV_TEXT, "mapping": {"Phone": "phone"}}, format="json").status_code == 201
    contact = Contact.objects.first()
    assert client.delete(f"{LIST}{contact.pk}/").status_code == 204


def test_api_key_cannot_claim_agent_source(api, merchant):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "agent", "wording": "x"}
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 400 and "source" in response.json()["error"]["fields"]


def test_consents_post_in_the_future_names_at(api, merchant):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "api", "wording": "x",
               "at": "2999-01-01T00:00:00Z"}  # fmt: skip
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["at"]


@pytest.mark.parametrize("source", ["keyword", "provider_preference", "provider_error"])
def test_api_caller_cannot_claim_a_system_source(api, merchant, source):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "whatsapp", "purpose": "marketing", "action": "grant", "source": source}
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["source"] == [
        f"“{source}” is not valid; choose one of: web_form, widget, import, api, agent."
    ]
    assert not ConsentEvent.objects.exists() and not ConsentState.objects.exists()


@pytest.mark.parametrize("source", ["web_form", "widget", "import", "api"])
@pytest.mark.parametrize("wording", ["", "   "])
def test_api_grant_without_wording_is_refused_for_every_caller_source(api, merchant, source, wording):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "whatsapp", "purpose": "marketing", "action": "grant", "source": source,
               "wording": wording, "evidence_url": "https://shop.test/signup"}  # fmt: skip
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["wording"]
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize("source", ["web_form", "widget", "import", "api"])
def test_api_grant_with_wording_is_recorded_for_every_caller_source(api, merchant, source):
    contact = ContactFactory(merchant=merchant)
    payload = {"channel": "whatsapp", "purpose": "marketing", "action": "grant", "source": source,
               "wording": "Send me offers on WhatsApp"}  # fmt: skip
    response = api.post(f"{LIST}{contact.pk}/consents/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert ConsentEvent.objects.get().source == source


def test_import_of_too_many_columns_is_400_naming_the_file(api):
    body = {"csv": ",".join(f"c{i}" for i in range(201)) + "\n", "mapping": {"c0": "phone"}}
    response = api.post(IMPORT, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"file": ["The file has 201 columns; at most 200 can be imported."]}
    assert not Contact.objects.exists()
