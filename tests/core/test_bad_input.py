"""Each bad input issue 12 item 7 names, at the place it used to crash: a precise 4xx and nothing stored."""

from __future__ import annotations

import io
import json
import uuid
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.campaigns.models import Segment
from apps.contacts.models import AttributeDefinition, Contact, ContactImport
from apps.contacts.services import identity_normalize
from apps.contacts.suppression import identifier_normalize
from apps.conversations import uploads
from apps.conversations.models import Message, WebhookEvent
from apps.conversations.services.channels import channel_create
from apps.conversations.services.inbound import webhook_event_process
from apps.tickets.clock import parse_hhmm
from tests.conversations.conftest import post_webhook, sign, wa_channel  # noqa: F401 - fixtures
from tests.conversations.live_support import ORIGIN, visitor, webchat_channel
from tests.factories.campaigns import SegmentFactory, TemplateFactory
from tests.factories.contacts import AttributeDefinitionFactory, ContactFactory
from tests.factories.conversations import ConversationFactory, MessageFactory
from tests.samples import WA_OUTBOUND_ID, sample

pytestmark = pytest.mark.django_db

DEEP = "[" * 10_000 + "]" * 10_000


def _error(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]


# --------------------------------------------------------------------------- Unicode digits
@pytest.mark.parametrize(
    ("path", "field", "message"),
    [
        ("/api/v1/conversations/?assignee=²", "assignee", "must be a user id, `me` or `none`"),
        ("/api/v1/consent-events/?contact=²", "contact", "Give a contact id."),
        ("/api/v1/tickets/?team=²", "team", "Give a whole number."),
        ("/api/v1/tickets/?contact=٣", "contact", "Give a whole number."),
    ],
)
def test_unicode_digits_in_api_filters_are_a_400_naming_the_parameter(api, path, field, message):
    response = api.get(path)
    assert response.status_code == 400
    assert _error(response)["fields"] == {field: [message]}


def test_unicode_digits_in_portal_parameters_are_ignored_not_a_500(admin_client_, merchant):
    conversation = ConversationFactory(merchant=merchant)
    template = TemplateFactory(merchant=merchant)
    ContactFactory(merchant=merchant, name="Ana")
    assert admin_client_.get("/contacts/?after=²").status_code == 200
    # Older messages are prepended above the shown ones: the newest page there would repeat them, so a 400.
    older = admin_client_.get(f"/inbox/c/{conversation.pk}/messages/?before=²")
    assert older.status_code == 400 and b"Give `before`" in older.content
    assert admin_client_.get("/tickets/?q=%23²").status_code == 200
    preview = admin_client_.get(f"/campaigns/templates/{template.pk}/preview/?contact=²")
    assert preview.status_code == 200 and preview.context["contact"] is None
    audience = admin_client_.get("/campaigns/new/audience/?segment=²")
    assert audience.status_code == 200 and "preview" not in audience.context
    assert admin_client_.post("/switch/", {"merchant_id": "²"}).status_code == 404


def test_unicode_digits_are_not_meta_ids_nor_phone_digits(merchant):
    with pytest.raises(ValidationError) as caught:
        identity_normalize("whatsapp", "³⁴⁶⁰⁰¹¹¹²²²")
    assert list(caught.value.message_dict) == ["whatsapp_id"]
    with pytest.raises(ValidationError) as caught:
        channel_create(merchant=merchant, kind="whatsapp", name="WA", phone_number_id="²²²", access_token="t",
                       app_secret="s", verify_token="v")  # fmt: skip
    assert caught.value.message_dict["phone_number_id"] == ["Meta's phone number id is digits only"]
    assert identifier_normalize("phone", "+34 600²111") == "34600111"
    with pytest.raises(ValueError, match="is not a time like 09:00"):
        parse_hhmm("²:00")


def test_a_failed_status_with_a_unicode_digit_code_is_applied_without_revoking(post_webhook, wa_channel):  # noqa: F811
    message = MessageFactory(conversation__merchant=wa_channel.merchant, conversation__channel=wa_channel,
                             direction="outbound", author_kind="agent", status="sent",
                             provider_message_id=WA_OUTBOUND_ID)  # fmt: skip
    body = sample("whatsapp/status_failed.json")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] = "¹³¹⁰⁵⁰"
    assert post_webhook(wa_channel, body).status_code == 200
    event = WebhookEvent.objects.get()
    webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    message.refresh_from_db()
    assert (event.status, event.error) == ("processed", "")
    assert (message.status, message.error_code) == ("failed", "¹³¹⁰⁵⁰")
    assert not message.conversation.contact.consent_events.exists()


# --------------------------------------------------------------------------- NUL characters
@pytest.fixture
def chat(merchant):
    channel = webchat_channel(merchant, settings={"prechat_enabled": True})
    return channel, visitor(channel)[1]


def _widget(client, channel, what, body: bytes | str):
    return client.post(f"/inbox/widget/{channel.public_key}/{what}/", data=body, content_type="application/json",
                       HTTP_ORIGIN=ORIGIN)  # fmt: skip


def test_nul_in_the_prechat_form_is_a_400_naming_the_field_and_stores_nothing(client, chat):
    channel, token = chat
    before = Contact.objects.count()
    response = _widget(client, channel, "prechat", json.dumps({"token": token, "name": "Ana\u0000"}))
    assert response.status_code == 400
    assert _error(response) == {
        "code": "bad_request", "message": "Must not contain NUL characters.",
        "fields": {"name": ["Must not contain NUL characters."]},
    }  # fmt: skip
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert Contact.objects.count() == before


def test_nul_in_an_upload_is_a_400_and_stores_nothing(client, chat):
    channel, token = chat
    photo = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n fake", content_type="image/png")
    data = {"token": token, "id": str(uuid.uuid4()), "text": "look\x00", "file": photo}
    response = client.post(f"/inbox/widget/{channel.public_key}/upload/", data=data, HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 400
    assert _error(response)["fields"] == {"text": ["Must not contain NUL characters."]}
    assert not Message.objects.exists()


@pytest.mark.parametrize(("name", "content_type"), [("pho\x00to.png", "image/png"), ("photo.png", "image/png\x00")])
def test_an_upload_named_or_typed_with_nul_is_refused_as_a_file_error(name, content_type):
    with pytest.raises(ValidationError) as caught:
        uploads.upload_validate(name=name, content_type=content_type, size=10, head=b"\x89PNG\r\n\x1a\n")
    assert caught.value.message_dict["file"][0].endswith("Must not contain NUL characters.")


def test_nul_in_json_fields_through_the_api_is_a_400_and_changes_nothing(api, merchant):
    contact = ContactFactory(merchant=merchant, attributes={"plan": "gold"})
    response = api.patch(f"/api/v1/contacts/{contact.pk}/", {"attributes": {"plan": "gold\u0000"}}, format="json")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"attributes": ["Must not contain NUL characters."]}
    contact.refresh_from_db()
    assert contact.attributes == {"plan": "gold"}
    response = api.post("/api/v1/segments/", {"name": "VIP", "rules": {"tags_any": ["v\u0000"]}}, format="json")
    assert response.status_code == 400 and list(_error(response)["fields"]) == ["rules"]
    assert not Segment.objects.exists()


def test_nul_in_an_api_query_string_is_a_400_in_the_envelope(api):
    response = api.get("/api/v1/contacts/?q=ana%00")
    assert response.status_code == 400
    assert _error(response) == {
        "code": "validation_error", "message": "q: Must not contain NUL characters.",
        "fields": {"q": ["Must not contain NUL characters."]},
    }  # fmt: skip


def test_nul_in_a_portal_query_string_or_form_is_a_plain_400(admin_client_):
    response = admin_client_.get("/contacts/?q=ana%00")
    assert response.status_code == 400
    assert response.content == b"q: Must not contain NUL characters."
    before = Contact.objects.count()
    form = {"name": "Ana\x00", "phone": "+34600111222"}
    response = admin_client_.post("/contacts/new/", urlencode(form), content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.content) == (400, b"name: Must not contain NUL characters.")
    # A multipart form is not read by the middleware: the form's own CharField refuses the NUL.
    response = admin_client_.post("/contacts/new/", form)
    assert response.status_code == 400 and "Null characters are not allowed." in response.content.decode()
    assert Contact.objects.count() == before


def test_nul_in_a_path_is_a_400_not_a_lookup(client):
    response = client.get("/tickets/csat/abc%00def/")
    assert (response.status_code, response.content) == (400, b"path: Must not contain NUL characters.")


# --------------------------------------------------------------------------- deep JSON
def test_deep_json_on_the_widget_is_a_400(client, chat):
    channel, _ = chat
    response = _widget(client, channel, "session", '{"token": ' + DEEP + "}")
    assert response.status_code == 400
    assert _error(response)["message"] == "The JSON document is nested deeper than 32 levels."


def test_deep_json_on_the_api_is_a_400_and_creates_nothing(api):
    response = api.generic("POST", "/api/v1/contacts/", '{"name": "x", "attributes": ' + DEEP + "}",
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert _error(response) == {
        "code": "parse_error", "message": "The JSON document is nested deeper than 32 levels.", "fields": {},
    }  # fmt: skip
    assert not Contact.objects.exists()


def test_deep_json_on_a_signed_webhook_is_kept_ignored_with_the_reason(post_webhook, wa_channel):  # noqa: F811
    response = post_webhook(wa_channel, ('{"object": "whatsapp_business_account", "entry": ' + DEEP + "}").encode())
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.status, event.error) == (
        "ignored",
        "body is not JSON within bounds: The JSON document is nested deeper than 32 levels.",
    )
    # Processing it again (a replay) and the erasure sweep read it through the same bounds: no RecursionError.
    webhook_event_process(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.error) == (
        "ignored",
        "body is not JSON within bounds: The JSON document is nested deeper than 32 levels.",
    )


def test_nul_escapes_in_a_signed_webhook_are_dropped_from_the_message(post_webhook, wa_channel):  # noqa: F811
    body = sample("whatsapp/inbound_text.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"][0]["text"]["body"] = "Hola\u0000 Marta\u001b"
    assert post_webhook(wa_channel, body).status_code == 200
    webhook_event_process(event_id=WebhookEvent.objects.get().pk)
    assert Message.objects.get().body == "Hola Marta"


# --------------------------------------------------------------------------- CSV imports
IMPORT = "/api/v1/contacts/import/"
CSV_TEXT = "Phone,Name\n+34600111001,Ana Núñez\n+34600111002,Bob\n"
MAPPING = json.dumps({"Phone": "phone", "Name": "name"})


def _import_file(api, raw: bytes):
    upload = io.BytesIO(raw)
    upload.name = "list.csv"
    return api.post(IMPORT, {"file": upload, "mapping": MAPPING}, format="multipart")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_csv_with_a_byte_order_mark_imports_correctly(api, encoding):
    raw = CSV_TEXT.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # these codecs write no mark: add the one a spreadsheet writes
        raw = "\ufeff".encode(encoding) + raw
    response = _import_file(api, raw)
    assert response.status_code == 201, response.json()
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Ana Núñez", "Bob"]


def test_csv_body_in_utf16_imports_correctly(api):
    response = api.generic("POST", f"{IMPORT}?mapping={MAPPING}", CSV_TEXT.encode("utf-16"), content_type="text/csv")
    assert response.status_code == 201, response.json()
    assert Contact.objects.count() == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (CSV_TEXT.encode("utf-16-le"), "The file is not CSV text. Must not contain NUL characters."),
        (b"Phone,Name\n+34600111001,A\x00na\n", "The file is not CSV text. Must not contain NUL characters."),
        (b"\xff\xfeP\x00h\x00\x00\xd8", "The file starts with a UTF-16 byte-order mark but is not UTF-16 text."),
    ],
)
def test_csv_with_nul_or_a_false_mark_is_refused_naming_the_file(api, raw, message):
    response = _import_file(api, raw)
    assert response.status_code == 400
    assert _error(response)["fields"] == {"file": [message]}
    assert not Contact.objects.exists()


def test_the_portal_import_reads_utf16_and_refuses_nul_with_the_reason(admin_client_):
    upload = SimpleUploadedFile("list.csv", CSV_TEXT.encode("utf-16"), content_type="text/csv")
    response = admin_client_.post("/contacts/import/", {"file": upload})
    imported = ContactImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/contacts/import/{imported.pk}/"
    assert imported.csv_text == CSV_TEXT
    upload = SimpleUploadedFile("list.csv", CSV_TEXT.encode("utf-16-le"), content_type="text/csv")
    response = admin_client_.post("/contacts/import/", {"file": upload})
    assert response.status_code == 400
    assert "The file is not CSV text. Must not contain NUL characters." in response.content.decode()
    assert ContactImport.objects.count() == 1


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", "1e999"])
def test_a_number_attribute_that_is_not_finite_is_a_400_and_changes_nothing(api, merchant, value):
    AttributeDefinitionFactory(merchant=merchant, key="score", type="number")
    contact = ContactFactory(merchant=merchant, attributes={"score": 3})
    response = api.patch(f"/api/v1/contacts/{contact.pk}/", {"attributes": {"score": value}}, format="json")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"attributes": ["score must be a number"]}
    contact.refresh_from_db()
    assert contact.attributes == {"score": 3}


# --------------------------------------------------------------------------- attribute definitions
def test_an_attribute_without_type_is_a_400_naming_type(api):
    response = api.post("/api/v1/contact-attributes/", {"key": "plan", "label": "Plan"}, format="json")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"type": ["This field is required."]}
    assert not AttributeDefinition.objects.exists()


def test_segment_rules_survive_the_edge_unchanged(api, merchant):
    SegmentFactory(merchant=merchant)
    response = api.post("/api/v1/segments/", {"name": "Tabs", "rules": {"tags_any": ["a\tb"]}}, format="json")
    assert response.status_code == 201, response.json()
    assert Segment.objects.get(name="Tabs").rules == {"tags_any": ["a\tb"]}
