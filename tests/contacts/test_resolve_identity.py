from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.contacts.models import Contact, ContactIdentity
from apps.contacts.services import contact_resolve_identity
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
