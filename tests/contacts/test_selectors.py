import pytest

from apps.contacts.models import Contact, Suppression
from apps.contacts.selectors import consent_status_subquery, erased_identifiers, person_erased
from apps.contacts.services import consent_record
from apps.contacts.suppression import suppression_hash
from tests.factories.contacts import ContactFactory, IdentityFactory, grant

pytestmark = pytest.mark.django_db


def test_consent_status_subquery_annotates_each_contact(merchant, django_assert_num_queries):
    granted, revoked, nothing = (ContactFactory(merchant=merchant) for _ in range(3))
    grant(granted)
    grant(revoked, channel="email")
    consent_record(merchant=merchant, contact=revoked, channel="whatsapp", purpose="marketing", action="revoke",
                   source="keyword")  # fmt: skip
    with django_assert_num_queries(1):
        rows = dict(
            Contact.objects.for_merchant(merchant)
            .annotate(consent=consent_status_subquery(channel="whatsapp", purpose="marketing"))
            .values_list("pk", "consent")
        )
    assert rows == {granted.pk: "granted", revoked.pk: "revoked", nothing.pk: "none"}
    filtered = Contact.objects.annotate(consent=consent_status_subquery(channel="email", purpose="marketing")).filter(
        consent="granted"
    )
    assert list(filtered) == [revoked]


def test_erased_identifiers_and_person_erased_know_every_kind_and_who_came_back(
    merchant, other_merchant, django_assert_num_queries
):
    for kind, value in (("phone", "+34611000001"), ("whatsapp_user", "ES.77001"), ("messenger", "PSID77"),
                        ("phone", "+34611000002")):  # fmt: skip
        Suppression.objects.create(merchant=merchant, kind=kind, value_hash=suppression_hash(kind, value))
    Suppression.objects.create(
        merchant=other_merchant, kind="whatsapp_user", value_hash=suppression_hash("whatsapp_user", "ES.77009")
    )
    ContactFactory(merchant=merchant, phone="+34611000002")  # came back by import
    IdentityFactory(contact=ContactFactory(merchant=merchant, phone=""), kind="whatsapp_user", external_id="ES.77002")
    values = ["34611000001", "ES.77001", "PSID77", "34611000002", "ES.77009", "ES.77002", ""]
    with django_assert_num_queries(3):
        assert erased_identifiers(merchant_id=merchant.pk, values=values) == {"34611000001", "ES.77001", "PSID77"}
    assert person_erased(merchant_id=merchant.pk, values=["ES.77001"]) is True
    assert person_erased(merchant_id=merchant.pk, values=["34611000001", "ES.77001"]) is True
    # the same person's other id is held by a live contact: they are back, not erased
    assert person_erased(merchant_id=merchant.pk, values=["ES.77001", "ES.77002"]) is False
    assert person_erased(merchant_id=merchant.pk, values=["ES.77009"]) is False  # another merchant's suppression
    assert person_erased(merchant_id=merchant.pk, values=["ES.12345"]) is False  # never erased
