from datetime import timedelta

import pytest
from django.utils import timezone

from apps.contacts.gate import consent_gate
from apps.contacts.models import Contact, Suppression
from apps.contacts.services import consent_record
from apps.contacts.suppression import suppression_hash
from tests.factories.contacts import ContactFactory, IdentityFactory, grant

pytestmark = pytest.mark.django_db


def test_gate_answers_every_reason_with_constant_queries(merchant, other_merchant, django_assert_max_num_queries):
    ok = ContactFactory(merchant=merchant)
    grant(ok)
    none = ContactFactory(merchant=merchant)
    revoked = ContactFactory(merchant=merchant)
    grant(revoked)
    consent_record(merchant=merchant, contact=revoked, channel="whatsapp", purpose="marketing", action="revoke",
                   source="keyword")  # fmt: skip
    pending = ContactFactory(merchant=merchant)
    grant(pending, double_opt_in=True)
    unreachable = ContactFactory(merchant=merchant, phone="")
    grant(unreachable)
    erased = ContactFactory(merchant=merchant)
    grant(erased)
    Contact.objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    foreign = ContactFactory(merchant=other_merchant)
    grant(foreign)
    ids = [ok.pk, none.pk, revoked.pk, pending.pk, unreachable.pk, erased.pk, foreign.pk, 999999]
    with django_assert_max_num_queries(4):
        answer = consent_gate(merchant=merchant, channel="whatsapp", contact_ids=ids)
    assert answer == {
        ok.pk: None, none.pk: "no_consent", revoked.pk: "revoked", pending.pk: "pending_confirmation",
        unreachable.pk: "no_identity", erased.pk: "erased", foreign.pk: "no_identity", 999999: "no_identity",
    }  # fmt: skip


def test_gate_is_per_channel_and_purpose(merchant):
    contact = ContactFactory(merchant=merchant)
    IdentityFactory(contact=contact, kind="messenger", external_id="PSID")
    grant(contact, channel="whatsapp")
    assert consent_gate(merchant=merchant, channel="messenger", contact_ids=[contact.pk]) == {contact.pk: "no_consent"}
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk], purpose="utility") == {
        contact.pk: "no_consent"
    }
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: None}


def test_whatsapp_reaches_a_contact_known_only_by_business_scoped_user_id(merchant):
    by_user_id = ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=by_user_id, kind="whatsapp_user", external_id="ES.1729304857612093")
    grant(by_user_id)
    by_psid = ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=by_psid, kind="messenger", external_id="7231405968472130")
    grant(by_psid)
    ids = [by_user_id.pk, by_psid.pk]
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=ids) == {
        by_user_id.pk: None,
        by_psid.pk: "no_identity",
    }
    assert consent_gate(merchant=merchant, channel="sms", contact_ids=[by_user_id.pk]) == {by_user_id.pk: "no_identity"}


def test_a_suppressed_business_scoped_user_id_is_refused_until_granted_again(merchant):
    contact = ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=contact, kind="whatsapp_user", external_id="ES.1729304857612093")
    grant(contact, occurred_at=timezone.now() - timedelta(days=2))
    Suppression.objects.create(
        merchant=merchant, kind="whatsapp_user", value_hash=suppression_hash("whatsapp_user", "ES.1729304857612093")
    )
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "suppressed"}
    grant(contact)
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: None}


def test_messenger_needs_a_psid(merchant):
    contact = ContactFactory(merchant=merchant)
    grant(contact, channel="messenger")
    assert consent_gate(merchant=merchant, channel="messenger", contact_ids=[contact.pk]) == {contact.pk: "no_identity"}


def test_suppressed_until_a_grant_newer_than_the_suppression(merchant):
    Suppression.objects.create(merchant=merchant, kind="phone", value_hash=suppression_hash("phone", "+34600000777"))
    contact = ContactFactory(merchant=merchant, phone="+34600000777")
    grant(contact, source="import", occurred_at=timezone.now() - timedelta(days=100))  # old evidence re-imported
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "suppressed"}
    grant(contact, source="web_form")
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: None}


def test_suppression_matches_a_whatsapp_id_as_the_phone(merchant):
    Suppression.objects.create(merchant=merchant, kind="phone", value_hash=suppression_hash("phone", "+34600000778"))
    contact = ContactFactory(merchant=merchant, phone="")
    IdentityFactory(contact=contact, kind="whatsapp", external_id="34600000778")
    grant(contact, source="import", occurred_at=timezone.now() - timedelta(days=1))
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "suppressed"}


def test_another_merchants_suppression_does_not_apply(merchant, other_merchant):
    Suppression.objects.create(
        merchant=other_merchant, kind="phone", value_hash=suppression_hash("phone", "+34600000779")
    )
    contact = ContactFactory(merchant=merchant, phone="+34600000779")
    grant(contact, source="import", occurred_at=timezone.now() - timedelta(days=1))
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: None}


def test_the_batch_hasher_matches_the_single_hash_for_every_spelling():
    from apps.contacts.suppression import suppression_hasher

    digest = suppression_hasher()
    assert digest("phone", "+34 600 000 780") == suppression_hash("phone", "34600000780")
    assert digest("phone", "34600000780") == digest("phone", "+34600000780")  # the second is served from memory
    assert digest("email", " Ana@Example.com") == suppression_hash("email", "ana@example.com")
    assert digest("email", "ana@example.com") != digest("phone", "ana@example.com")


def test_a_suppressed_contact_among_many_costs_no_extra_query_per_contact(merchant, django_assert_max_num_queries):
    Suppression.objects.create(merchant=merchant, kind="phone", value_hash=suppression_hash("phone", "+34600000781"))
    blocked = ContactFactory(merchant=merchant, phone="+34600000781")
    grant(blocked, source="import", occurred_at=timezone.now() - timedelta(days=1))
    others = [ContactFactory(merchant=merchant) for _ in range(20)]
    for contact in others:
        grant(contact)
    ids = [blocked.pk] + [c.pk for c in others]
    # contacts, identities, states, any suppression?, matching suppressions, one grant-since probe
    with django_assert_max_num_queries(6):
        answer = consent_gate(merchant=merchant, channel="whatsapp", contact_ids=ids)
    assert answer == {blocked.pk: "suppressed", **{c.pk: None for c in others}}


def test_a_suppressed_person_without_consent_is_suppressed_not_merely_unconsented(merchant):
    Suppression.objects.create(merchant=merchant, kind="phone", value_hash=suppression_hash("phone", "+34600000782"))
    contact = ContactFactory(merchant=merchant, phone="+34600000782")
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "suppressed"}
    grant(contact, source="web_form")
    consent_record(
        merchant=merchant, contact=contact, channel="whatsapp", purpose="marketing", action="revoke", source="keyword"
    )
    # Granted again after the suppression, then revoked: the revoke is the reason now.
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "revoked"}


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("erased", "suppressed"),
        ("suppressed", "suppressed"),
        ("no_consent", "no_marketing_consent"),
        ("revoked", "no_marketing_consent"),
        ("pending_confirmation", "no_marketing_consent"),
        ("no_identity", "no_marketing_consent"),
    ],
)
def test_every_gate_reason_has_the_contracts_code(reason, code):
    from apps.contacts.gate import REASON_TEXT, refusal_code

    assert reason in REASON_TEXT
    assert refusal_code(reason) == code
