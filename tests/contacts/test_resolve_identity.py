from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.contacts.models import Contact, ContactIdentity
from apps.contacts.services import (
    contact_identity_move,
    contact_resolve_identities,
    contact_resolve_identity,
    identity_normalize,
)
from tests.factories.contacts import ContactFactory

pytestmark = pytest.mark.django_db


def test_first_whatsapp_message_creates_a_contact_with_phone_and_identity(merchant):
    seen = timezone.now()
    contact = contact_resolve_identity(
        merchant=merchant, kind="whatsapp", external_id="4915112345678", name="Ana", seen_at=seen
    )
    assert (contact.name, contact.phone, contact.phone_timezone) == ("Ana", "+4915112345678", "Europe/Berlin")
    assert (contact.first_seen_at, contact.last_seen_at) == (seen, seen)
    assert list(contact.identities.values_list("kind", "external_id")) == [("whatsapp", "4915112345678")]


def test_second_message_reuses_the_contact_and_moves_last_seen_forward_only(merchant):
    t0 = timezone.now()
    first = contact_resolve_identity(merchant=merchant, kind="messenger", external_id="PSID-1", seen_at=t0)
    again = contact_resolve_identity(
        merchant=merchant, kind="messenger", external_id="PSID-1", seen_at=t0 + timedelta(minutes=1)
    )
    late = contact_resolve_identity(
        merchant=merchant, kind="messenger", external_id="PSID-1", seen_at=t0 - timedelta(minutes=1)
    )
    assert first.pk == again.pk == late.pk
    first.refresh_from_db()
    assert first.last_seen_at == t0 + timedelta(minutes=1)
    assert first.first_seen_at == t0 - timedelta(minutes=1)
    assert Contact.objects.count() == 1


def test_whatsapp_identity_attaches_to_an_imported_contact_with_that_phone(merchant):
    imported = ContactFactory(merchant=merchant, phone="+34600111222", name="Imported")
    contact = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34600111222", name="Ana")
    assert contact.pk == imported.pk
    assert contact.name == "Imported"
    assert Contact.objects.count() == 1


def test_identities_are_per_merchant(merchant, other_merchant):
    mine = contact_resolve_identity(merchant=merchant, kind="webchat", external_id="visitor-1")
    theirs = contact_resolve_identity(merchant=other_merchant, kind="webchat", external_id="visitor-1")
    assert mine.pk != theirs.pk
    assert (mine.merchant_id, theirs.merchant_id) == (merchant.pk, other_merchant.pk)


def test_a_bad_phone_never_refuses_an_inbound_message(merchant):
    contact = contact_resolve_identity(merchant=merchant, kind="messenger", external_id="P-9", phone="not a phone")
    assert contact.phone == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_first_messages_create_one_contact(merchant):
    def resolve(_):
        try:
            return contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34600999888").pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(resolve, range(12)))
    assert len(ids) == 1
    assert ContactIdentity.objects.filter(external_id="34600999888").count() == 1
    assert Contact.objects.filter(phone="+34600999888").count() == 1


# ------------------------------------------------------------------ business-scoped user ids
BSUID = "ES.1729304857612093"


@pytest.mark.parametrize("value", ["US.13491208655302741918", "US.ENT.11815799212886844830", "BR.1502576394655843"])
def test_business_scoped_user_ids_in_metas_format_are_accepted(value):
    assert identity_normalize("whatsapp_user", f" {value} ") == value


@pytest.mark.parametrize("value", ["13491208655302741918", "us.1349", "US.", "US.12-34", "USA.1234", "US.1234 5"])
def test_malformed_business_scoped_user_ids_are_refused(value):
    with pytest.raises(ValidationError) as error:
        identity_normalize("whatsapp_user", value)
    assert error.value.message_dict == {
        "whatsapp_user_id": ["A business-scoped user id looks like US.13491208655302741918."]
    }


def test_a_person_met_by_user_id_then_by_number_too_stays_one_contact(merchant):
    first = contact_resolve_identity(merchant=merchant, kind="whatsapp_user", external_id=BSUID, name="Marta")
    assert first.phone == ""
    both = contact_resolve_identities(
        merchant=merchant, identities=[("whatsapp", "34655667788"), ("whatsapp_user", BSUID)]
    )
    assert both.pk == first.pk
    assert both.phone == "+34655667788"
    assert set(both.identities.values_list("kind", "external_id")) == {
        ("whatsapp_user", BSUID),
        ("whatsapp", "34655667788"),
    }
    assert Contact.objects.count() == 1


def test_a_known_number_gains_its_user_id(merchant):
    known = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34655667788")
    again = contact_resolve_identities(
        merchant=merchant, identities=[("whatsapp", "34655667788"), ("whatsapp_user", BSUID)]
    )
    assert again.pk == known.pk
    assert ContactIdentity.objects.get(kind="whatsapp_user").contact_id == known.pk


def test_a_fully_known_person_is_resolved_in_one_query(merchant, django_assert_num_queries):
    contact_resolve_identities(merchant=merchant, identities=[("whatsapp", "34655667788"), ("whatsapp_user", BSUID)])
    with django_assert_num_queries(3):  # the identities, then last_seen and first_seen moved forward
        contact_resolve_identities(
            merchant=merchant, identities=[("whatsapp", "34655667788"), ("whatsapp_user", BSUID)]
        )


def test_ids_met_apart_stay_with_their_contacts(merchant):
    by_number = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34655667788")
    by_user_id = contact_resolve_identity(merchant=merchant, kind="whatsapp_user", external_id=BSUID)
    resolved = contact_resolve_identities(
        merchant=merchant, identities=[("whatsapp", "34655667788"), ("whatsapp_user", BSUID)]
    )
    assert resolved.pk == by_number.pk
    assert set(ContactIdentity.objects.values_list("contact_id", "kind")) == {
        (by_number.pk, "whatsapp"),
        (by_user_id.pk, "whatsapp_user"),
    }


def test_a_user_id_contact_does_not_take_a_number_another_contact_has(merchant):
    by_user_id = contact_resolve_identity(merchant=merchant, kind="whatsapp_user", external_id=BSUID)
    ContactFactory(merchant=merchant, phone="+34655667788")
    resolved = contact_resolve_identities(
        merchant=merchant, identities=[("whatsapp_user", BSUID), ("whatsapp", "34655667788")]
    )
    assert resolved.pk == by_user_id.pk
    resolved.refresh_from_db()
    assert resolved.phone == ""


# ------------------------------------------------------------------ identity moves (a new number)
def test_identity_move_keeps_the_contact_and_its_phone_follows(merchant):
    contact = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34611222333")
    moved = contact_identity_move(merchant=merchant, kind="whatsapp", old="34611222333", new="4915112345678")
    assert moved.pk == contact.pk
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_timezone) == ("+4915112345678", "Europe/Berlin")
    assert list(ContactIdentity.objects.values_list("external_id", flat=True)) == ["4915112345678"]


def test_identity_move_keeps_a_phone_that_was_not_the_old_number(merchant):
    contact = ContactFactory(merchant=merchant, phone="+34911223344")
    ContactIdentity.objects.create(merchant=merchant, contact=contact, kind="whatsapp", external_id="34611222333")
    contact_identity_move(merchant=merchant, kind="whatsapp", old="34611222333", new="34644556677")
    contact.refresh_from_db()
    assert contact.phone == "+34911223344"
    assert ContactIdentity.objects.get().external_id == "34644556677"


def test_identity_move_of_an_unknown_id_changes_nothing(merchant):
    assert contact_identity_move(merchant=merchant, kind="whatsapp", old="34611222333", new="34644556677") is None
    assert ContactIdentity.objects.count() == 0


def test_identity_move_onto_an_id_someone_has_moves_nothing(merchant):
    mine = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34611222333")
    theirs = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34644556677")
    assert contact_identity_move(merchant=merchant, kind="whatsapp", old="34611222333", new="34644556677") == mine
    assert set(ContactIdentity.objects.values_list("contact_id", "external_id")) == {
        (mine.pk, "34611222333"),
        (theirs.pk, "34644556677"),
    }
