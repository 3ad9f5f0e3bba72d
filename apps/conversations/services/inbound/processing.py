"""Storing a verified webhook body and processing it later, item by item."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.conversations.models import Channel, ChannelKind, WebhookEvent, WebhookEventStatus
from apps.conversations.services.erasure import webhook_event_forget_erased
from apps.conversations.services.inbound import messenger, whatsapp
from apps.conversations.services.inbound.batch import InboundBatch
from apps.conversations.services.inbound.common import ProcessResult
from apps.core import inputs
from apps.core.sql import row_insert
from apps.meta.webhooks import wa_status

PROCESSORS = {ChannelKind.WHATSAPP: whatsapp.process, ChannelKind.MESSENGER: messenger.process}


def webhook_event_store(*, channel: Channel, body: bytes, ignored_reason: str = "") -> WebhookEvent:
    """Keep the verified raw body; the task does the work. A body that cannot be read within the edge's
    bounds is kept `ignored` with the reason, for a person to look at, and never processed."""
    ignored = {"status": WebhookEventStatus.IGNORED, "error": ignored_reason[:5000], "processed_at": timezone.now()}
    return row_insert(  # the channel is the caller's, so its merchant is the event's: nothing to check first
        WebhookEvent(
            merchant_id=channel.merchant_id,
            channel_id=channel.pk,
            provider=channel.kind,
            # A readable body has no character PostgreSQL refuses (JSON has no raw control characters).
            body=inputs.text_clean(body.decode("utf-8", errors="replace")),
            **(ignored if ignored_reason else {}),
        )
    )


def webhook_body_read(body: bytes | str) -> tuple[dict | None, str]:
    """(the body as a JSON object, "") or (None, why it is not one within the edge's bounds)."""
    try:
        # Meta's text cannot be sent back to be fixed: what PostgreSQL cannot store is dropped, not refused.
        data = inputs.json_loads(body, strip_controls=True)
    except inputs.InputError as exc:
        return None, f"body is not JSON within bounds: {exc.message}"
    return (data, "") if isinstance(data, dict) else (None, "body is not a JSON object")


def webhook_event_process(*, event_id: int) -> ProcessResult:
    """Process every item of a stored event (whatever its status: a replay). An item that fails marks the
    event `failed` with the reason; `result.errors` (transient) asks the caller to retry, `result.rejected`
    (deterministic) does not, nor do `result.problems` (parts of the body not in Meta's shape, kept in the
    event's error)."""
    event = WebhookEvent.objects.select_related("channel__merchant").get(pk=event_id)
    return webhook_events_apply(events=[event])[event.pk]


def webhook_events_apply(*, events: list[WebhookEvent]) -> dict[int, ProcessResult]:
    """Process several stored events as one batch (their messages stored together, DR-80); each
    keeps its own tally, status and error. The events are saved in one UPDATE."""
    batch, results, readable = InboundBatch(), {}, []
    for event in events:
        result = results[event.pk] = ProcessResult()
        data, problem = webhook_body_read(event.body)
        if data is None:
            _close(event, WebhookEventStatus.IGNORED, problem)
            continue
        processor = PROCESSORS.get(event.provider)
        if processor is None:
            result.ignored += 1
        else:
            processor(event.channel, data, result, batch)
        readable.append(event)
    batch.apply()
    for event in readable:
        result = results[event.pk]
        failures = result.errors + result.rejected
        # A part Meta did not shape as documented fails no item: the event is processed, the reason kept with it.
        status = WebhookEventStatus.FAILED if failures else WebhookEventStatus.PROCESSED
        _close(event, status, "\n".join(failures + result.problems))
    _save(events)
    for event in readable:
        _forget_erased(event, results[event.pk])
    return results


def _save(events: list[WebhookEvent]) -> None:
    """One UPDATE per outcome (a batch mostly has one): a CASE per row and column costs more than it spares."""
    outcomes: dict[tuple, list[WebhookEvent]] = {}
    for event in events:
        outcomes.setdefault((event.status, event.error), []).append(event)
    for (status, error), same in outcomes.items():
        WebhookEvent.objects.filter(pk__in=[event.pk for event in same]).update(
            status=status, error=error, attempts=F("attempts") + 1, processed_at=same[0].processed_at
        )


def _forget_erased(event: WebhookEvent, result: ProcessResult) -> None:
    # Only statuses, and what Meta reports about an erased person, name someone without resolving them to a
    # live contact (a sender always is one); a failed event is replayed first, since it may be a returning
    # person's.
    if event.status == WebhookEventStatus.PROCESSED and (result.statuses or result.erased_people):
        webhook_event_forget_erased(event=event)


def _close(event: WebhookEvent, status: str, error: str) -> None:
    event.status = status
    event.error = error[:5000]
    event.attempts += 1
    event.processed_at = timezone.now()


def status_retry(*, channel_id: int, item: dict) -> bool:
    """A status that arrived before our send committed its provider id: try matching it again."""
    channel = Channel.objects.select_related("merchant").get(pk=channel_id)
    result = ProcessResult()
    with transaction.atomic():
        whatsapp.status(channel, wa_status(item), result)
    return not result.unmatched_statuses
