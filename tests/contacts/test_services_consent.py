from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.contacts.models import AppendOnlyError, ConsentEvent, ConsentState
from apps.contacts.services import consent_record
from tests.factories.contacts import ContactFactory, grant

pytestmark = pytest.mark.django_db


def _record(contact, action, source="web_form", wording="Offers by WhatsApp from Acme", **kwargs):
    return consent_record(
        merchant=contact.merchant, contact=contact, channel=kwargs.pop("channel", "whatsapp"),
        purpose=kwargs.pop("purpose", "marketing"), action=action, source=source, wording=wording, **kwargs,
    )  # fmt: skip


def _state(contact, channel="whatsapp", purpose="marketing"):
    return ConsentState.objects.get(contact=contact, channel=channel, purpose=purpose)


def test_grant_appends_an_event_and_derives_the_state_in_one_go(merchant):
    contact = ContactFactory(merchant=merchant)
    at = timezone.now() - timedelta(minutes=5)
    event = _record(
        contact, "grant", evidence_url="https://shop.test/form", ip_address="1.2.3.4", user_agent="UA", occurred_at=at
    )
    assert event.resulting_status == "granted"
    state = _state(contact)
    assert (state.status, state.since, state.last_event_id) == ("granted", at, event.pk)
    assert ConsentEvent.objects.filter(contact=contact).count() == 1


def test_revoke_then_grant_walks_the_state(merchant):
    contact = ContactFactory(merchant=merchant)
    _record(contact, "grant")
    _record(contact, "revoke", source="keyword", wording="")
    assert _state(contact).status == "revoked"
    _record(contact, "grant", source="agent", wording="Customer asked by phone to receive offers again")
    assert _state(contact).status == "granted"
    assert list(ConsentEvent.objects.filter(contact=contact).values_list("resulting_status", flat=True)) == [
        "granted", "revoked", "granted",
    ]  # fmt: skip


def test_double_opt_in_keeps_a_form_grant_pending_until_confirmed(merchant):
    merchant.settings = {"double_opt_in": True}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    _record(contact, "grant")
    assert _state(contact).status == "pending"
    _record(contact, "confirm", source="keyword", wording="")
    assert _state(contact).status == "granted"


def test_double_opt_in_does_not_apply_to_an_agent_grant(merchant):
    merchant.settings = {"double_opt_in": True}
    merchant.save()
    contact = ContactFactory(merchant=merchant)
    _record(contact, "grant", source="agent", wording="Customer agreed in the shop")
    assert _state(contact).status == "granted"


def test_confirm_without_a_pending_grant_changes_nothing(merchant):
    contact = ContactFactory(merchant=merchant)
    event = _record(contact, "confirm", source="keyword", wording="")
    assert event.resulting_status == "none"
    assert _state(contact).status == "none"


def test_a_late_event_is_kept_but_does_not_override_newer_evidence(merchant):
    contact = ContactFactory(merchant=merchant)
    revoke = _record(contact, "revoke", source="keyword", wording="")
    old = _record(contact, "grant", source="import", occurred_at=timezone.now() - timedelta(days=300))
    assert old.resulting_status == "revoked"
    assert (_state(contact).status, _state(contact).last_event_id) == ("revoked", revoke.pk)


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("channel", {"channel": "telegram"}),
        ("purpose", {"purpose": "spam"}),
        ("action", {"action": "maybe"}),
        ("source", {"source": "rumour"}),
        ("wording", {"wording": "  "}),
        ("evidence_url", {"evidence_url": "javascript:alert(1)"}),
        ("ip_address", {"ip_address": "999.1.1.1"}),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(merchant, field, overrides):
    contact = ContactFactory(merchant=merchant)
    kwargs = {"channel": "whatsapp", "purpose": "marketing", "action": "grant", "source": "agent", "wording": "ok"}
    kwargs.update(overrides)
    with pytest.raises(ValidationError) as exc:
        consent_record(merchant=merchant, contact=contact, **kwargs)
    assert field in exc.value.message_dict
    assert not ConsentEvent.objects.exists() and not ConsentState.objects.exists()


def test_another_merchants_contact_is_refused(merchant, other_merchant):
    contact = ContactFactory(merchant=other_merchant)
    with pytest.raises(ValidationError) as exc:
        _record(contact.__class__.objects.get(pk=contact.pk), "grant", merchant=merchant) if False else consent_record(
            merchant=merchant, contact=contact, channel="whatsapp", purpose="marketing", action="grant",
            source="agent", wording="x",
        )  # fmt: skip
    assert "contact" in exc.value.message_dict
    assert not ConsentEvent.objects.exists()


def test_erased_contact_takes_no_consent(merchant):
    contact = ContactFactory(merchant=merchant, erased_at=timezone.now())
    with pytest.raises(ValidationError):
        _record(contact, "grant")


# ------------------------------------------------------------------ append-only
def test_event_save_and_delete_are_refused(merchant):
    event = grant(ContactFactory(merchant=merchant))
    event.wording = "something else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert ConsentEvent.objects.get(pk=event.pk).wording == "Send me offers from Acme on WhatsApp"


def test_queryset_update_and_delete_are_refused(merchant):
    grant(ContactFactory(merchant=merchant))
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.all().update(wording="x")
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.filter(channel="whatsapp").delete()
    with pytest.raises(AppendOnlyError):
        ConsentEvent.objects.bulk_update(list(ConsentEvent.objects.all()), ["wording"])
    assert ConsentEvent.objects.count() == 1


@pytest.mark.postgres
def test_database_trigger_refuses_raw_update_and_delete(merchant):
    event = grant(ContactFactory(merchant=merchant))
    for sql in (
        "UPDATE contacts_consentevent SET wording = 'forged' WHERE id = %s",
        "DELETE FROM contacts_consentevent WHERE id = %s",
        # blanking the IP is only allowed once the contact is erased
        "UPDATE contacts_consentevent SET ip_address = NULL, user_agent = '', evidence_url = '' WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert ConsentEvent.objects.get(pk=event.pk).wording == "Send me offers from Acme on WhatsApp"


@pytest.mark.postgres
def test_database_trigger_allows_only_the_erasure_redaction(merchant):
    contact = ContactFactory(merchant=merchant)
    event = grant(contact, ip_address="1.2.3.4", user_agent="UA")
    contact.__class__.objects.filter(pk=contact.pk).update(erased_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_consentevent SET ip_address = NULL, user_agent = '', evidence_url = '', "
                       "wording = 'x' WHERE id = %s", [event.pk])  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_consentevent SET evidence_message_id = 'x' WHERE id = %s", [event.pk])
    ConsentEvent.objects.filter(pk=event.pk)._redact_for_erasure(evidence={event.pk: "erased:abc"})
    event = ConsentEvent.objects.get(pk=event.pk)
    assert (event.ip_address, event.user_agent, event.wording) == (None, "", "Send me offers from Acme on WhatsApp")
    assert event.evidence_message_id == "erased:abc"


@pytest.mark.postgres
def test_database_trigger_refuses_evidence_redaction_of_a_live_contact(merchant):
    event = grant(ContactFactory(merchant=merchant), evidence_message_id="user_preferences:34600111001:1:stop")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk)._redact_for_erasure(evidence={event.pk: "erased:abc"})
    assert ConsentEvent.objects.get(pk=event.pk).evidence_message_id == "user_preferences:34600111001:1:stop"


def test_consent_dated_in_the_future_is_refused(merchant):
    contact = ContactFactory(merchant=merchant)
    with pytest.raises(ValidationError) as exc:
        _record(contact, "grant", occurred_at=timezone.now() + timedelta(days=1))
    assert "occurred_at" in exc.value.message_dict
    assert not ConsentEvent.objects.exists()


# ------------------------------------------------------------------ revoke wins when the order is uncertain
def _whole_second(at):
    return at.replace(microsecond=0)


def test_a_whole_second_stop_in_the_same_second_as_an_earlier_recorded_grant_revokes(merchant):
    contact = ContactFactory(merchant=merchant)
    second = _whole_second(timezone.now() - timedelta(minutes=1))
    _record(contact, "grant", occurred_at=second + timedelta(milliseconds=700))
    stop = _record(contact, "revoke", source="provider_preference", wording="", occurred_at=second)
    assert stop.resulting_status == "revoked"
    assert (_state(contact).status, _state(contact).last_event_id) == ("revoked", stop.pk)


def test_a_whole_second_stop_a_second_before_the_grant_is_old_news(merchant):
    contact = ContactFactory(merchant=merchant)
    second = _whole_second(timezone.now() - timedelta(minutes=1))
    grant_event = _record(contact, "grant", occurred_at=second + timedelta(milliseconds=700))
    stop = _record(
        contact, "revoke", source="provider_preference", wording="", occurred_at=second - timedelta(seconds=1)
    )
    assert stop.resulting_status == "granted"
    assert (_state(contact).status, _state(contact).last_event_id) == ("granted", grant_event.pk)


def test_a_grant_within_the_second_of_a_whole_second_stop_does_not_resubscribe(merchant):
    contact = ContactFactory(merchant=merchant)
    second = _whole_second(timezone.now() - timedelta(minutes=1))
    _record(contact, "grant", occurred_at=second - timedelta(minutes=5))
    stop = _record(contact, "revoke", source="provider_preference", wording="", occurred_at=second)
    late_grant = _record(contact, "grant", occurred_at=second + timedelta(milliseconds=500))
    assert late_grant.resulting_status == "revoked"
    assert (_state(contact).status, _state(contact).last_event_id) == ("revoked", stop.pk)
    after = _record(contact, "grant", occurred_at=second + timedelta(milliseconds=1001))
    assert (after.resulting_status, _state(contact).status) == ("granted", "granted")


def test_a_revoke_tied_with_a_grant_to_the_microsecond_wins(merchant):
    contact = ContactFactory(merchant=merchant)
    at = timezone.now() - timedelta(minutes=1)
    _record(contact, "revoke", source="keyword", wording="", occurred_at=at)
    tied = _record(contact, "grant", source="agent", wording="Asked by phone", occurred_at=at)
    assert (tied.resulting_status, _state(contact).status) == ("revoked", "revoked")
