"""The live event log: per-merchant seq, race-safe allocation, catch-up, broadcast only after commit."""

import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from apps.conversations import events
from apps.conversations.models import LiveEvent
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import MerchantFactory


@pytest.mark.django_db
def test_seq_is_per_merchant_and_increasing(merchant, other_merchant):
    for i in range(3):
        events.publish(merchant_id=merchant.pk, kind="x", payload={"i": i})
    events.publish(merchant_id=other_merchant.pk, kind="x", payload={})
    assert list(LiveEvent.objects.for_merchant(merchant).values_list("seq", flat=True)) == [1, 2, 3]
    assert list(LiveEvent.objects.for_merchant(other_merchant).values_list("seq", flat=True)) == [1]
    assert events.last_seq(merchant_id=merchant.pk) == 3


@pytest.mark.django_db
def test_since_filters_by_merchant_seq_and_conversation(merchant, other_merchant):
    conversation = ConversationFactory(merchant=merchant)
    events.publish(merchant_id=merchant.pk, kind="a", payload={})
    events.publish(merchant_id=merchant.pk, kind="b", payload={}, conversation_id=conversation.pk)
    events.publish(merchant_id=merchant.pk, kind="c", payload={})
    events.publish(merchant_id=other_merchant.pk, kind="other", payload={})
    assert [e.kind for e in events.since(merchant_id=merchant.pk, after_seq=1)] == ["b", "c"]
    assert [e.kind for e in events.since(merchant_id=merchant.pk, after_seq=0, conversation_id=conversation.pk)] == [
        "b"
    ]
    assert [e.seq for e in events.since(merchant_id=merchant.pk, after_seq=0, limit=2)] == [1, 2]


@pytest.mark.django_db
def test_rolled_back_write_leaves_no_event_and_no_broadcast(merchant, monkeypatch):
    sent = []
    monkeypatch.setattr(events, "broadcast", lambda event: sent.append(event))
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish(merchant_id=merchant.pk, kind="x", payload={})
        raise RuntimeError
    assert LiveEvent.objects.count() == 0 and sent == []


@pytest.mark.django_db
def test_broadcast_happens_after_commit_to_both_groups(merchant, django_capture_on_commit_callbacks):
    # On the in-memory layer (tests/conftest.py), which lets this synchronous test read the group messages.
    conversation = ConversationFactory(merchant=merchant)
    layer = get_channel_layer()
    agent = async_to_sync(layer.new_channel)()
    widget = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(events.merchant_group(merchant.pk), agent)
    async_to_sync(layer.group_add)(events.conversation_group(conversation.pk), widget)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            events.publish(
                merchant_id=merchant.pk,
                kind="message.created",
                payload={"internal": False, "id": 1},
                conversation_id=conversation.pk,
            )
        assert len(callbacks) == 1  # nothing broadcast before the commit
        callbacks[0]()
        for channel_name in (agent, widget):
            message = async_to_sync(layer.receive)(channel_name)
            assert message == {
                "type": "live.event",
                "seq": 1,
                "kind": "message.created",
                "payload": {"internal": False, "id": 1},
                "conversation_id": conversation.pk,
            }
    finally:
        async_to_sync(layer.group_discard)(events.merchant_group(merchant.pk), agent)
        async_to_sync(layer.group_discard)(events.conversation_group(conversation.pk), widget)


@pytest.mark.django_db
def test_broadcast_failure_does_not_raise(merchant, monkeypatch):
    class Broken:
        async def group_send(self, *args):
            raise ConnectionError("redis down")

    monkeypatch.setattr(events, "get_channel_layer", lambda: Broken())
    events.broadcast(LiveEvent(merchant_id=merchant.pk, seq=1, kind="x", payload={}))


class Recording:
    """A layer that is not the in-memory one (as Redis's is not): records its sends, or fails them."""

    def __init__(self, broken: bool = False) -> None:
        self.sent, self.broken, self.threads = [], broken, set()

    async def group_send(self, group, message):
        self.threads.add(threading.get_ident())
        if self.broken:
            raise ConnectionError("redis down")
        self.sent.append((group, message["seq"]))


@pytest.mark.django_db(transaction=True)
async def test_a_web_process_sends_on_its_loop_in_order_and_logs_a_failure(merchant, monkeypatch, caplog):
    from asgiref.sync import sync_to_async

    from tests.waiting import async_wait_until

    layer = Recording()
    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    broadcast = sync_to_async(events.broadcast, thread_sensitive=False)  # as a socket's write calls it
    for seq in (1, 2, 3):
        await broadcast(LiveEvent(merchant_id=merchant.pk, seq=seq, kind="x", payload={}, conversation_id=7))
    await async_wait_until(lambda: len(layer.sent) == 6, what="the three events in both groups")
    assert layer.sent == [(g, seq) for seq in (1, 2, 3) for g in (events.merchant_group(merchant.pk), "conversation-7")]
    assert layer.threads == {threading.get_ident()}  # the loop's thread, not the worker that committed

    layer.broken = True
    await broadcast(LiveEvent(merchant_id=merchant.pk, seq=4, kind="x", payload={}))
    await async_wait_until(lambda: "live_event.broadcast_failed" in caplog.text, what="the failure logged")


@pytest.mark.django_db
def test_payload_dates_are_stored_as_json(merchant):
    from django.utils import timezone

    events.publish(merchant_id=merchant.pk, kind="x", payload={"at": timezone.now()})
    assert isinstance(LiveEvent.objects.get().payload["at"], str)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_never_share_a_seq():
    merchant = MerchantFactory()
    errors = []

    def worker():
        try:
            for _ in range(15):
                with transaction.atomic():
                    events.publish(merchant_id=merchant.pk, kind="race", payload={})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(LiveEvent.objects.filter(merchant=merchant).values_list("seq", flat=True)) == list(range(1, 61))
