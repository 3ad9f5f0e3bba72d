"""A webhook batch: Meta's several messages per POST, and several waiting POSTs per run, stored in bulk with a
query count that does not grow with the number of messages."""

from __future__ import annotations

import math

import pytest
from django.db import connection

from apps.contacts.models import ConsentState, Contact, ContactIdentity
from apps.conversations.models import Attachment, Conversation, LiveEvent, Message, WebhookEvent, WebhookEventStatus
from apps.conversations.services import webhook_event_process, webhook_event_store
from apps.conversations.services.inbound import batch as inbound_batch
from apps.conversations.services.maintenance import webhook_event_run, webhook_events_process_again
from tests.conversations.wa_batches import wa_messages_body, wa_text_item
from tests.factories.contacts import ContactFactory, grant

pytestmark = pytest.mark.django_db


def people(count: int, tag: str = "A") -> list[dict]:
    return [wa_text_item(f"3460000{i:04d}", f"wamid.{tag}{i}", f"hola {i}") for i in range(count)]


# The queries of one batch, whatever its size (first contacts: new people and new conversations):
# event SELECT, known-ids SELECT, savepoint pair, identities SELECT, phones SELECT, savepoint pair, contacts and
# identities INSERTs, conversations locked SELECT, savepoint pair, conversations INSERT, contacts locked in id
# order + touched, messages INSERT, conversations UPDATE, one seq bump, live events INSERT, keyword table,
# event UPDATE.
FIRST_CONTACTS = 22
# Returning people: no creation (nor its savepoints and phone lookup).
RETURNING = 14


def insert_chunks(model, count: int) -> int:
    """Django splits a bulk INSERT where the database bounds its parameters (SQLite: 999); PostgreSQL takes
    any batch in one."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return math.ceil(count / connection.ops.bulk_batch_size(fields, [None] * count))


@pytest.mark.parametrize("count", [1, 10, 50])
def test_a_batch_costs_the_same_queries_for_1_10_and_50_messages(wa_channel, django_assert_num_queries, count):
    split = insert_chunks(Message, count) - 1
    first = webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, people(count)))
    with django_assert_num_queries(FIRST_CONTACTS + split):
        result = webhook_event_process(event_id=first.pk)
    assert (result.messages, result.errors, result.rejected) == (count, [], [])
    again = webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, people(count, tag="B")))
    with django_assert_num_queries(RETURNING + split):
        result = webhook_event_process(event_id=again.pk)
    assert result.messages == count
    assert Contact.objects.count() == count and Conversation.objects.count() == count
    assert Message.objects.count() == 2 * count
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {2}
    assert LiveEvent.objects.filter(kind="message.created").count() == 2 * count


def test_each_message_s_event_carries_its_conversation_as_that_message_left_it(wa_channel):
    items = [wa_text_item("34600000001", "wamid.1", "first"), wa_text_item("34600000001", "wamid.2", "second")]
    webhook_event_process(event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, items)).pk)
    first, second = LiveEvent.objects.order_by("seq")
    assert (first.payload["body"], first.payload["conversation"]["unread_count"]) == ("first", 1)
    assert (second.payload["body"], second.payload["conversation"]["unread_count"]) == ("second", 2)
    assert second.seq == first.seq + 1
    conversation = Conversation.objects.get()
    assert (conversation.last_message_preview, conversation.unread_count) == ("second", 2)
    assert Contact.objects.get().name == "Person 001"


def test_a_redelivered_batch_is_stored_once(wa_channel):
    raw = wa_messages_body(wa_channel, people(5))
    webhook_event_process(event_id=webhook_event_store(channel=wa_channel, body=raw).pk)
    events = LiveEvent.objects.count()
    result = webhook_event_process(event_id=webhook_event_store(channel=wa_channel, body=raw).pk)
    assert (result.messages, result.duplicates) == (0, 5)
    assert Message.objects.count() == 5 and LiveEvent.objects.count() == events
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {1}


def test_the_same_message_twice_in_one_body_is_stored_once(wa_channel):
    items = [wa_text_item("34600000001", "wamid.SAME", "hola"), wa_text_item("34600000001", "wamid.SAME", "hola")]
    result = webhook_event_process(
        event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, items)).pk
    )
    assert (result.messages, result.duplicates) == (1, 1)
    assert Message.objects.count() == 1


def test_a_lost_race_for_one_message_stores_the_others_one_by_one(wa_channel, monkeypatch):
    # given a concurrent delivery committing one of the batch's messages after the batch looked for them
    real, raced = inbound_batch._fresh, []

    def racing(channel, items):
        fresh = real(channel, items)
        if not raced:
            raced.append(True)
            webhook_event_process(
                event_id=webhook_event_store(channel=channel, body=wa_messages_body(channel, people(1))).pk
            )
        return fresh

    monkeypatch.setattr(inbound_batch, "_fresh", racing)
    result = webhook_event_process(
        event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, people(3))).pk
    )
    # then the unique constraint refuses the bulk INSERT, and one by one the other two are stored
    assert (result.messages, result.duplicates, result.rejected) == (2, 1, [])
    assert Message.objects.count() == 3 and Contact.objects.count() == 3


def test_a_bad_sender_is_rejected_alone(wa_channel):
    items = [wa_text_item("not-a-number", "wamid.BAD", "hola"), wa_text_item("34600000001", "wamid.GOOD", "hola")]
    result = webhook_event_process(
        event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, items)).pk
    )
    assert result.messages == 1 and len(result.rejected) == 1 and "wamid.BAD" in result.rejected[0]
    assert list(Message.objects.values_list("provider_message_id", flat=True)) == ["wamid.GOOD"]
    assert WebhookEvent.objects.get().status == WebhookEventStatus.FAILED


def test_a_known_contact_by_phone_gets_the_identity_not_a_twin(wa_channel, merchant):
    imported = ContactFactory(merchant=merchant, phone="+34600000001", name="Ana")
    webhook_event_process(
        event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, people(2))).pk
    )
    assert Contact.objects.count() == 2
    assert ContactIdentity.objects.get(external_id="34600000001").contact == imported


def test_stop_in_a_batch_revokes_marketing_and_the_message_is_kept(wa_channel, merchant):
    contact = ContactFactory(merchant=merchant, phone="+34600000001")
    ContactIdentity.objects.create(merchant=merchant, contact=contact, kind="whatsapp", external_id="34600000001")
    grant(contact)
    items = [wa_text_item("34600000001", "wamid.STOP", "STOP"), wa_text_item("34600000002", "wamid.HI", "hola")]
    webhook_event_process(event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, items)).pk)
    assert ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status == "revoked"
    assert Message.objects.filter(direction="inbound").count() == 2
    assert Message.objects.get(provider_message_id="wamid.STOP").metadata["keyword"] == "opt_out"


def test_media_in_a_batch_is_queued_for_download(wa_channel, django_capture_on_commit_callbacks, monkeypatch):
    from apps.conversations import tasks

    fetched = []
    monkeypatch.setattr(tasks.attachment_fetch_task, "apply_async", lambda args, **kw: fetched.append(args[0]))
    image = {"from": "34600000001", "id": "wamid.IMG", "timestamp": "1700000000", "type": "image",
             "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "x"}}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        webhook_event_process(
            event_id=webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, [image, *people(1)])).pk
        )
    attachment = Attachment.objects.get()
    assert (attachment.provider_media_id, attachment.status) == ("MEDIA1", "pending")
    assert fetched == [attachment.pk]


def test_a_run_applies_the_waiting_events_together_and_their_runs_find_them_done(wa_channel, django_assert_num_queries):
    ids = [
        webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, people(1, tag=f"E{i}"))).pk
        for i in range(3)
    ]
    assert webhook_event_run(event_id=ids[0]) is False
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookEventStatus.PROCESSED}
    assert Message.objects.count() == 3
    with django_assert_num_queries(1):
        assert webhook_event_run(event_id=ids[2]) is False
    assert Message.objects.count() == 3 and set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}


def test_processing_again_runs_an_event_already_done(wa_channel):
    event = webhook_event_store(channel=wa_channel, body=wa_messages_body(wa_channel, people(1)))
    webhook_event_run(event_id=event.pk)
    webhook_events_process_again(event_ids=[event.pk])
    webhook_event_run(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEventStatus.PROCESSED, 2)
    assert Message.objects.count() == 1
