import csv
import io
import json

import pytest
from django.core.exceptions import ValidationError

from apps.contacts import privacy_hooks
from apps.contacts.gate import consent_gate
from apps.contacts.models import ConsentEvent, ConsentState, Contact, ContactIdentity, Suppression
from apps.contacts.services import consent_record, contact_resolve_identity
from apps.contacts.services.export_erase import consent_ledger_csv, contact_erase, contact_export
from apps.contacts.services.merge import contact_merge
from apps.contacts.suppression import suppression_hash
from tests.factories.contacts import ContactFactory, IdentityFactory, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(monkeypatch):
    """Isolated registries so tests can register fake sections and hooks."""
    monkeypatch.setattr(privacy_hooks, "_export_sections", {})
    monkeypatch.setattr(privacy_hooks, "_erase_hooks", [])
    monkeypatch.setattr(privacy_hooks, "_erase_sweeps", [])
    monkeypatch.setattr(privacy_hooks, "_merge_hooks", [])
    return privacy_hooks


def test_export_holds_profile_identities_consent_and_registered_sections(merchant, registry):
    contact = ContactFactory(merchant=merchant, name="Ana", phone="+34600111001", tags=["vip"])
    IdentityFactory(contact=contact, kind="whatsapp", external_id="34600111001")
    grant(contact, ip_address="1.2.3.4", evidence_url="https://shop.test/form")
    registry.register_export_section("conversations", lambda c: [{"contact": c.pk, "body": "hello"}])
    data = contact_export(contact=contact)
    json.dumps(data)  # JSON-able
    assert data["profile"]["name"] == "Ana" and data["profile"]["tags"] == ["vip"]
    assert data["identities"][0]["external_id"] == "34600111001"
    assert data["consent_state"][0]["status"] == "granted"
    event = data["consent_events"][0]
    assert (event["ip_address"], event["evidence_url"], event["wording"]) == (
        "1.2.3.4", "https://shop.test/form", "Send me offers from Acme on WhatsApp",
    )  # fmt: skip
    assert data["conversations"] == [{"contact": contact.pk, "body": "hello"}]


def _has_personal_data(contact: Contact) -> bool:
    contact.refresh_from_db()
    fields = [contact.name, contact.phone, contact.email, contact.locale, contact.timezone, contact.phone_timezone]
    return any(fields) or bool(contact.tags or contact.attributes or contact.last_seen_at)


def test_erase_removes_personal_data_keeps_redacted_ledger_and_suppression(merchant, registry):
    erased_by_hook = []
    registry.register_erase_hook(lambda *, contact, traces: erased_by_hook.append(contact.pk))
    contact = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34600111001", name="Ana")
    contact.email = "Ana@Example.test"
    contact.tags, contact.attributes = ["vip"], {"x": 1}
    contact.save()
    grant(contact, ip_address="1.2.3.4", user_agent="Firefox", evidence_url="https://shop.test/?email=ana")
    contact = contact_erase(contact=contact)
    assert contact.erased_at is not None
    assert not _has_personal_data(contact)
    assert not ContactIdentity.objects.filter(contact=contact).exists()
    assert erased_by_hook == [contact.pk]
    event = ConsentEvent.objects.get(contact=contact)
    assert (event.ip_address, event.user_agent, event.evidence_url) == (None, "", "")
    assert (event.action, event.wording) == ("grant", "Send me offers from Acme on WhatsApp")  # proof stays
    hashes = set(Suppression.objects.values_list("kind", "value_hash"))
    assert hashes == {
        ("phone", suppression_hash("phone", "+34600111001")),
        ("email", suppression_hash("email", "ana@example.test")),
    }
    assert "34600111001" not in str(list(Suppression.objects.values()))
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[contact.pk]) == {contact.pk: "erased"}


def test_after_erasure_a_returning_person_is_suppressed_until_they_grant_again(merchant):
    contact = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34600111001")
    grant(contact)
    contact_erase(contact=contact)
    back = contact_resolve_identity(merchant=merchant, kind="whatsapp", external_id="34600111001")
    assert back.pk != contact.pk
    # Suppressed, not merely unconsented: the new record never granted, but the person asked to be forgotten.
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[back.pk]) == {back.pk: "suppressed"}
    consent_record(merchant=merchant, contact=back, channel="whatsapp", purpose="marketing", action="grant",
                   source="keyword")  # fmt: skip
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[back.pk]) == {back.pk: None}


def test_merge_moves_identities_profile_gaps_and_newest_consent(merchant, registry):
    moved = []
    registry.register_merge_hook(lambda *, source, target: moved.append((source.pk, target.pk)))
    source = ContactFactory(merchant=merchant, name="Ana", phone="+34600111001", email="", tags=["a"],
                            attributes={"x": 1})  # fmt: skip
    target = ContactFactory(merchant=merchant, name="", phone="", email="ana@x.test", tags=["b"], attributes={"x": 2})
    IdentityFactory(contact=source, kind="whatsapp", external_id="34600111001")
    grant(target, channel="whatsapp")
    consent_record(merchant=merchant, contact=source, channel="whatsapp", purpose="marketing", action="revoke",
                   source="keyword")  # fmt: skip
    grant(source, channel="email")
    merged = contact_merge(source=source, target=target)
    source.refresh_from_db()
    assert (merged.name, merged.phone, merged.email, merged.tags) == ("Ana", "+34600111001", "ana@x.test", ["b", "a"])
    assert merged.attributes == {"x": 2}
    assert (source.merged_into_id, source.phone, source.name) == (target.pk, "", "")
    assert list(ContactIdentity.objects.values_list("contact_id", flat=True)) == [target.pk]
    states = dict(ConsentState.objects.filter(contact=target).values_list("channel", "status"))
    assert states == {"whatsapp": "revoked", "email": "granted"}
    assert not ConsentState.objects.filter(contact=source).exists()
    assert ConsentEvent.objects.filter(contact=source).count() == 2  # the ledger is not rewritten...
    assert len(contact_export(contact=target)["consent_events"]) == 3  # ...but follows in the history
    assert moved == [(source.pk, target.pk)]


def test_merge_refuses_self_other_merchant_and_merged(merchant, other_merchant):
    a, b = ContactFactory(merchant=merchant), ContactFactory(merchant=merchant)
    with pytest.raises(ValidationError):
        contact_merge(source=a, target=a)
    with pytest.raises(ValidationError):
        contact_merge(source=a, target=ContactFactory(merchant=other_merchant))
    contact_merge(source=a, target=b)
    with pytest.raises(ValidationError):
        contact_merge(source=a, target=b)


def test_ledger_csv_streams_every_event_of_the_merchant_only(merchant, other_merchant):
    grant(ContactFactory(merchant=merchant, name="Ana"), ip_address="1.2.3.4")
    grant(ContactFactory(merchant=merchant, name="Bob"), wording="=HYPERLINK(evil)")
    grant(ContactFactory(merchant=other_merchant, name="Other"))
    rows = list(csv.DictReader(io.StringIO("".join(consent_ledger_csv(merchant=merchant)))))
    assert [r["contact_name"] for r in rows] == ["Ana", "Bob"]
    assert rows[0]["ip_address"] == "1.2.3.4" and rows[0]["source"] == "web_form"
    assert rows[1]["wording"] == "'=HYPERLINK(evil)"
