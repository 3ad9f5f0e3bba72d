"""Celery task wrappers: retries, requeue of stale webhooks, pruning. Tasks run inline here (the worker
process itself is exercised by the contract smoke test)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations import tasks
from apps.conversations.models import LiveEvent, Message, WebhookEvent
from apps.conversations.services.maintenance import live_events_prune, webhook_events_stale
from apps.meta import dispatch
from apps.meta.webhooks import StatusUpdate
from tests.factories.conversations import ChannelFactory, MessageFactory
from tests.samples import WA_CUSTOMER, WA_PHONE_NUMBER_ID, WA_TEXT_TIMESTAMP, sample_bytes
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def test_webhook_task_processes_the_stored_event(wa_channel, post_webhook, eager):
    post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"))
    tasks.webhook_event_process_task.apply(args=[WebhookEvent.objects.get().pk])
    assert Message.objects.filter(direction="inbound").count() == 1


def test_unmatched_status_is_retried_until_the_message_exists(
    wa_channel, post_webhook, eager, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [])
    scheduled = []
    monkeypatch.setattr(
        tasks.status_retry_task, "apply_async", lambda args, countdown: scheduled.append((args, countdown))
    )
    post_webhook(wa_channel, sample_bytes("whatsapp/status_delivered.json"))
    with django_capture_on_commit_callbacks(execute=True):  # the follow-up is queued after commit
        tasks.webhook_event_process_task.apply(args=[WebhookEvent.objects.get().pk])
    [(args, countdown)] = scheduled
    assert args[0] == wa_channel.pk and countdown > 0
    message = MessageFactory(
        conversation__merchant=wa_channel.merchant,
        conversation__channel=wa_channel,
        direction="outbound",
        author_kind="agent",
        status="sent",
        provider_message_id=args[1]["id"],
    )
    tasks.status_retry_task.apply(args=args)
    message.refresh_from_db()
    assert message.status == "delivered"


def test_stale_received_events_are_requeued(wa_channel, monkeypatch, django_capture_on_commit_callbacks):
    event = WebhookEvent.objects.create(
        merchant=wa_channel.merchant, channel=wa_channel, provider="whatsapp", body="{}"
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    fresh = WebhookEvent.objects.create(
        merchant=wa_channel.merchant, channel=wa_channel, provider="whatsapp", body="{}"
    )
    assert webhook_events_stale() == [event.pk]
    queued = []
    monkeypatch.setattr(tasks.webhook_event_process_task, "apply_async", lambda args, **_: queued.append(*args))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.webhook_events_requeue_task() == 1
    assert queued == [event.pk] and fresh.pk not in queued


def test_stuck_queued_messages_are_requeued(merchant, monkeypatch, django_capture_on_commit_callbacks):
    stuck = MessageFactory(
        conversation__merchant=merchant,
        direction="outbound",
        author_kind="agent",
        status="queued",
        created_at=timezone.now() - timedelta(minutes=5),
    )
    MessageFactory(conversation__merchant=merchant, direction="outbound", author_kind="agent", status="queued")
    MessageFactory(
        conversation__merchant=merchant,
        direction="outbound",
        author_kind="agent",
        status="sent",
        created_at=timezone.now() - timedelta(minutes=5),
    )
    queued = []
    monkeypatch.setattr(tasks.message_deliver_task, "apply_async", lambda args, **_: queued.append(*args))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.messages_requeue_stuck_task() == 1
    assert queued == [stuck.pk]


def test_broker_down_at_send_keeps_the_message_queued(merchant, monkeypatch, django_capture_on_commit_callbacks):
    from apps.conversations.services import message_send
    from tests.factories.conversations import ConversationFactory

    def down(*args, **options):
        raise ConnectionError("redis down")

    monkeypatch.setattr(tasks.message_deliver_task, "apply_async", down)
    conversation = ConversationFactory(merchant=merchant)
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(conversation=conversation, text="hola", human_agent=True)
    message.refresh_from_db()
    assert message.status == "queued" and message.author_kind == "agent"


def test_prune_old_live_events(merchant):
    from apps.conversations import events

    events.publish(merchant_id=merchant.pk, kind="old", payload={})
    events.publish(merchant_id=merchant.pk, kind="new", payload={})
    LiveEvent.objects.filter(kind="old").update(created_at=timezone.now() - timedelta(days=8))
    assert live_events_prune(days=7) == 1
    assert list(LiveEvent.objects.values_list("kind", flat=True)) == ["new"]


def test_beat_schedule_names_existing_tasks():
    from celery import current_app

    from apps.conversations.beat import BEAT_SCHEDULE

    current_app.loader.import_default_modules()
    for entry in BEAT_SCHEDULE.values():
        module, name = entry["task"].rsplit(".", 1)
        assert module == "apps.conversations.tasks" and hasattr(tasks, name)


def test_media_task_marks_failed_after_last_retry(fake_graph, merchant, eager):
    from apps.conversations.models import Attachment
    from apps.conversations.services import message_receive
    from tests.factories.contacts import ContactFactory

    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    message = message_receive(
        channel=channel,
        contact=ContactFactory(merchant=merchant),
        provider_message_id="w1",
        kind="media",
        body="",
        attachments=[{"type": "image", "media_id": "m1"}],
        received_at=timezone.now(),
    )
    eager.conf.task_eager_propagates = False  # nested eager retries would re-raise otherwise (restored by the fixture)
    for _ in range(40):
        fake_graph.queue(500, {"error": {"code": 2, "message": "down"}})
    tasks.attachment_fetch_task.apply(args=[Attachment.objects.get(message=message).pk], throw=False)
    attachment = Attachment.objects.get()
    assert attachment.status == "failed" and attachment.attempts == tasks.MEDIA_MAX_RETRIES + 1


def test_prune_old_processed_webhook_events(wa_channel):
    from apps.conversations.services.maintenance import webhook_events_prune

    old_done, old_failed, recent = (
        WebhookEvent.objects.create(
            merchant=wa_channel.merchant, channel=wa_channel, provider="whatsapp", body="{}", status=status
        )
        for status in ("processed", "failed", "processed")
    )
    WebhookEvent.objects.filter(pk__in=[old_done.pk, old_failed.pk]).update(
        received_at=timezone.now() - timedelta(days=31)
    )
    assert webhook_events_prune(days=30) == 1
    assert set(WebhookEvent.objects.values_list("id", flat=True)) == {old_failed.pk, recent.pk}


# --------------------------------------------------------------------------- a real worker
def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(tmp_path, fake_graph):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings

    from portal.celery import app

    app.control.purge()  # tasks left on this Redis db by earlier runs must not hit this database
    env = {**os.environ, "DATABASE_URL": _database_url(), "DATABASE_POOL": "false", "REDIS_URL": settings.REDIS_URL,
           "DJANGO_SETTINGS_MODULE": "tests.settings", "META_GRAPH_API_URL": fake_graph.url}  # fmt: skip
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "--loglevel", "INFO",
         "-n", "convback@%h"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)
    log.close()


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_real_worker_processes_webhooks_and_delivers_replies(worker, fake_graph, post_webhook, api_client):
    from tests.factories.merchants import MerchantFactory

    merchant = MerchantFactory()
    channel = ChannelFactory(merchant=merchant, kind="whatsapp", phone_number_id=WA_PHONE_NUMBER_ID)
    raw = sample_bytes("whatsapp/inbound_text.json").replace(
        f'"{WA_TEXT_TIMESTAMP}"'.encode(), f'"{int(timezone.now().timestamp())}"'.encode()
    )
    assert post_webhook(channel, raw).status_code == 200
    assert post_webhook(channel, raw).status_code == 200  # Meta redelivers: still one message
    message = wait_until(lambda: Message.objects.filter(direction="inbound").first(), 60, what="the inbound message")
    wait_until(lambda: WebhookEvent.objects.filter(status="processed").count() == 2, 30, what="both events processed")
    assert Message.objects.filter(direction="inbound").count() == 1
    fake_graph.queue(500, {"error": {"code": 2, "message": "temporarily unavailable"}})
    response = api_client(merchant).post(
        f"/api/v1/conversations/{message.conversation_id}/messages/", {"text": "¡Hola! Ya salió."}, format="json"
    )
    assert response.status_code == 201
    sent = Message.objects.filter(pk=response.json()["id"], status="sent")
    reply = wait_until(sent.first, 60, what="the send")
    assert reply.provider_message_id.startswith("wamid.FAKE")
    assert [s["body"]["text"]["body"] for s in fake_graph.sent] == ["¡Hola! Ya salió."] * 2  # 500, then 200
    assert fake_graph.sent[-1]["body"]["to"] == WA_CUSTOMER


def test_replaying_webhook_events_queues_each_after_commit(wa_channel, monkeypatch, django_capture_on_commit_callbacks):
    from apps.conversations.services.maintenance import webhook_events_process_again

    events = [
        WebhookEvent.objects.create(merchant=wa_channel.merchant, channel=wa_channel, provider="whatsapp", body="{}")
        for _ in range(2)
    ]
    queued = []
    monkeypatch.setattr(tasks.webhook_event_process_task, "apply_async", lambda args, **_: queued.append(*args))
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_process_again(event_ids=[e.pk for e in events]) == 2
        assert queued == []
    assert queued == [e.pk for e in events]
