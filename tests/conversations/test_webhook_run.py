"""webhook_event_run: one stored webhook processed, its follow-ups queued, a retry asked only when transient."""

import pytest

from apps.conversations import tasks
from apps.conversations.models import Message, WebhookEvent
from apps.conversations.services.maintenance import STATUS_RETRY_DELAY, webhook_event_run
from apps.meta import dispatch
from apps.meta.webhooks import StatusUpdate
from tests.samples import sample_bytes

pytestmark = pytest.mark.django_db


def test_an_inbound_message_is_stored_and_asks_for_no_retry(wa_channel, post_webhook):
    # given a stored inbound message webhook
    post_webhook(wa_channel, sample_bytes("whatsapp/inbound_text.json"))
    # when it is run
    again = webhook_event_run(event_id=WebhookEvent.objects.get().pk)
    # then the message exists and nothing asks for another run
    assert again is False
    assert Message.objects.filter(direction="inbound").count() == 1


def test_a_status_without_its_message_is_queued_to_match_again(
    wa_channel, post_webhook, monkeypatch, django_capture_on_commit_callbacks
):
    # given a stored status for a message not (yet) committed
    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [])
    scheduled = []
    monkeypatch.setattr(
        tasks.status_retry_task, "apply_async", lambda args, countdown: scheduled.append((args, countdown))
    )
    post_webhook(wa_channel, sample_bytes("whatsapp/status_delivered.json"))
    # when it is run
    with django_capture_on_commit_callbacks(execute=True):
        again = webhook_event_run(event_id=WebhookEvent.objects.get().pk)
    # then one match-again task is queued for the event's channel, and the event itself is done
    [(args, countdown)] = scheduled
    assert args[0] == wa_channel.pk and countdown == STATUS_RETRY_DELAY
    assert again is False
