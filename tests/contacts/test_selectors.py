import pytest

from apps.contacts.models import Contact
from apps.contacts.selectors import consent_status_subquery
from apps.contacts.services import consent_record
from tests.factories.contacts import ContactFactory, grant

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
