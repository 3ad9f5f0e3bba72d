from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from apps.contacts.gate import consent_gate
from apps.contacts.models import (
    ConsentEvent,
    ConsentState,
    Contact,
    ContactIdentity,
    ContactImport,
    ContactImportStatus,
    Suppression,
)
from apps.contacts.services.imports import contact_import_file, contact_import_run, contact_import_upload
from apps.contacts.suppression import suppression_hash
from tests.factories.contacts import AttributeDefinitionFactory, ContactFactory, grant

pytestmark = pytest.mark.django_db

HEADER = "Name,Mobile,Email,WA,Tags,Consent,Consent date,Consent wording,Collected via\n"
MAPPING = {
    "Name": "name", "Mobile": "phone", "Email": "email", "WA": "whatsapp_id", "Tags": "tags",
    "Consent": "consent_action", "Consent date": "consent_date", "Consent wording": "consent_wording",
    "Collected via": "consent_source",
}  # fmt: skip
DEFAULTS = {"consent_channel": "whatsapp"}


def run(merchant, text, mapping=MAPPING, dry_run=False, **kwargs):
    imp = contact_import_upload(merchant=merchant, data=text.encode(), filename="list.csv")
    return contact_import_run(contact_import=imp, mapping=mapping, defaults=DEFAULTS, dry_run=dry_run, **kwargs)


def test_upload_guesses_the_mapping_from_headers(merchant):
    imp = contact_import_upload(merchant=merchant, data=b"\xef\xbb\xbfNombre,Telefono,E-mail,Other\n", filename="x.csv")
    assert imp.mapping == {"Nombre": "name", "Telefono": "phone", "E-mail": "email"}


def test_rows_create_contacts_identities_and_consent_with_evidence(merchant, marketer_membership):
    text = HEADER + (
        "Ana,+34600111001,ana@x.test,,vip,grant,2026-03-03T14:02:00Z,Yes send me WhatsApp offers from Acme,shop form\n"
        'Bob,,bob@x.test,34600111002,"vip, new",,,,\n'
    )
    report = run(merchant, text, actor=marketer_membership.user)
    assert report.ok, report.errors
    assert (report.rows, report.created, report.updated, report.consents) == (2, 2, 0, 1)
    ana = Contact.objects.get(phone="+34600111001")
    bob = Contact.objects.get(email="bob@x.test")
    assert (ana.name, ana.tags, bob.phone, bob.tags) == ("Ana", ["vip"], "+34600111002", ["vip", "new"])
    assert list(bob.identities.values_list("kind", "external_id")) == [("whatsapp", "34600111002")]
    event = ConsentEvent.objects.get()
    assert (event.contact, event.source, event.collected_via, event.action) == (ana, "import", "shop form", "grant")
    assert event.wording == "Yes send me WhatsApp offers from Acme"
    assert event.occurred_at.isoformat() == "2026-03-03T14:02:00+00:00"
    assert event.actor == marketer_membership.user
    assert event.actor_label == f"Import #{report.import_id}"
    assert ConsentState.objects.get(contact=ana).status == "granted"
    assert not ConsentState.objects.filter(contact=bob).exists()  # being in the file is not consent
    imp = ContactImport.objects.get(pk=report.import_id)
    assert (imp.status, imp.csv_text, imp.summary["created"]) == ("completed", "", 2)


def test_existing_contacts_are_updated_not_duplicated(merchant):
    existing = ContactFactory(merchant=merchant, phone="+34600111001", name="Old", tags=["a"])
    report = run(merchant, HEADER + "New name,0034 600 111 001,,,b,,,,\n".replace("0034 ", "+34"))
    assert (report.created, report.updated) == (0, 1), report.errors
    existing.refresh_from_db()
    assert (existing.name, existing.tags) == ("New name", ["a", "b"])
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Ana,12345,,,,,,,", "phone"),
        ("Ana,+34600111001,not-an-email,,,,,,", "email"),
        ("Ana,,,,,,,,", "no phone, email"),
        ("Ana,+34600111001,,,,grant,,Offers,form", "consent_date"),
        ("Ana,+34600111001,,,,grant,2026-03-03,,form", "consent_wording"),
        ("Ana,+34600111001,,,,grant,2026-03-03,Offers,", "consent_source"),
        ("Ana,+34600111001,,,,perhaps,2026-03-03,Offers,form", "consent_action"),
        ("Ana,+34600111001,,,,grant,2999-01-01,Offers,form", "future"),
        ("Ana,+34600111001,,abc,,,,,", "whatsapp_id"),
    ],
)
def test_a_bad_row_is_reported_by_line_and_nothing_changes(merchant, row, reason):
    ContactFactory(merchant=merchant, phone="+34600999000", name="Keep")
    text = HEADER + "Good,+34600111009,,,,,,,\n" + row + "\n"
    report = run(merchant, text)
    assert not report.ok
    assert report.errors[0]["line"] == 3
    assert reason in " ".join(report.errors[0]["errors"])
    assert Contact.objects.count() == 1 and not ConsentEvent.objects.exists()
    assert ContactImport.objects.get(pk=report.import_id).status == "failed"


def test_duplicates_within_the_file_are_errors(merchant):
    report = run(merchant, HEADER + "A,+34600111001,,,,,,,\nB,+34600111001,,,,,,,\n")
    assert report.errors == [{"line": 3, "errors": ["phone: same as line 2"]}]
    assert not Contact.objects.exists()


def test_phone_and_whatsapp_id_of_two_different_contacts_is_an_error(merchant):
    a = ContactFactory(merchant=merchant, phone="+34600111001")
    b = ContactFactory(merchant=merchant, phone="+34600111002")
    ContactIdentity.objects.create(merchant=merchant, contact=b, kind="whatsapp", external_id="34600111002")
    report = run(merchant, HEADER + "X,+34600111001,,34600111002,,,,,\n")
    assert "different contacts" in report.errors[0]["errors"][0]
    assert str(a.pk) in report.errors[0]["errors"][0]


def test_dry_run_reports_and_writes_nothing(merchant):
    report = run(merchant, HEADER + "Ana,+34600111001,,,,grant,2026-03-03,Offers,form\n", dry_run=True)
    assert (report.ok, report.created, report.consents) == (True, 1, 1)
    assert report.preview[0]["phone"] == "+34600111001"
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists()
    assert ContactImport.objects.get(pk=report.import_id).status == "uploaded"  # can still be run for real


def test_typed_attributes(merchant):
    AttributeDefinitionFactory(merchant=merchant, key="orders", type="number")
    text = "Phone,Orders\n+34600111001,3\n+34600111002,three\n"
    report = run(merchant, text, mapping={"Phone": "phone", "Orders": "attr:orders"})
    assert report.errors == [{"line": 3, "errors": ["attributes: orders must be a number"]}]
    report = run(merchant, "Phone,Orders\n+34600111001,3\n", mapping={"Phone": "phone", "Orders": "attr:orders"})
    assert Contact.objects.get().attributes == {"orders": 3}


def test_bad_mapping_is_refused_before_reading_rows(merchant):
    with pytest.raises(ValidationError) as exc:
        run(merchant, HEADER, mapping={"Nope": "phone", "Name": "favourite_colour"})
    assert "mapping" in exc.value.message_dict


def test_an_old_import_grant_does_not_override_a_newer_revoke(merchant):
    contact = ContactFactory(merchant=merchant, phone="+34600111001")
    grant(contact)
    from apps.contacts.services import consent_record

    consent_record(merchant=merchant, contact=contact, channel="whatsapp", purpose="marketing", action="revoke",
                   source="keyword")  # fmt: skip
    run(merchant, HEADER + "A,+34600111001,,,,grant,2025-01-01,Offers,paper\n")
    assert ConsentState.objects.get(contact=contact).status == "revoked"
    assert ConsentEvent.objects.filter(source="import").get().resulting_status == "revoked"


def test_reimporting_an_erased_person_does_not_make_them_a_target(merchant):
    Suppression.objects.create(merchant=merchant, kind="phone", value_hash=suppression_hash("phone", "+34600111001"))
    report = run(merchant, HEADER + "A,+34600111001,,,,grant,2025-01-01,Offers,paper\n")
    assert report.suppressed_matches == 1
    contact = Contact.objects.get()
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "suppressed"}


def test_an_import_runs_once(merchant):
    imp = contact_import_upload(merchant=merchant, data=HEADER + "A,+34600111001,,,,,,,\n")
    contact_import_run(contact_import=imp, mapping=MAPPING)
    with pytest.raises(ValidationError):
        contact_import_run(contact_import=imp, mapping=MAPPING)


def test_date_only_consent_is_read_in_the_merchants_timezone(merchant):
    run(merchant, HEADER + "A,+34600111001,,,,grant,2026-03-03,Offers,paper\n")
    assert ConsentEvent.objects.get().occurred_at == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def test_up_to_200_columns_upload_and_201_are_refused(merchant):
    wide = ",".join(["Phone", *(f"c{i}" for i in range(199))]) + "\n"
    assert len(contact_import_upload(merchant=merchant, data=wide.encode(), filename="x.csv").mapping) == 1
    with pytest.raises(ValidationError) as caught:
        contact_import_upload(merchant=merchant, data=(wide.strip() + ",extra\n").encode(), filename="x.csv")
    assert caught.value.message_dict == {"file": ["The file has 201 columns; at most 200 can be imported."]}
    assert ContactImport.objects.count() == 1


def test_a_huge_column_name_is_refused(merchant):
    with pytest.raises(ValidationError) as caught:
        contact_import_upload(merchant=merchant, data=("Phone," + "n" * 201 + "\n").encode(), filename="x.csv")
    assert caught.value.message_dict == {"file": ["A column name is longer than 200 characters."]}
    assert not ContactImport.objects.exists()


def test_import_file_dry_run_previews_and_keeps_no_copy(merchant):
    report = contact_import_file(
        merchant=merchant, data=HEADER + "A,+34600111001,,,,,,,\n", filename="x.csv", mapping=MAPPING, dry_run=True
    )
    assert (report.dry_run, report.import_id, report.ok, report.rows) == (True, None, True, 1)
    assert not ContactImport.objects.filter(merchant=merchant).exists()
    assert not Contact.objects.filter(merchant=merchant).exists()


def test_import_file_writes_and_keeps_the_import(merchant):
    report = contact_import_file(merchant=merchant, data=HEADER + "A,+34600111001,,,,,,,\n", mapping=MAPPING)
    imp = ContactImport.objects.get(merchant=merchant)
    assert (report.import_id, report.created, imp.status) == (imp.pk, 1, ContactImportStatus.COMPLETED)
