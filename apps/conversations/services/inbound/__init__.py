"""Processing stored provider webhooks: every entry, change and item, each idempotent.

The request only verified the signature and stored the raw body (WebhookEvent). This runs in a task
and may run again for the same event (Meta redelivers, the task retries): messages are deduplicated by
provider id, statuses only move forward, consent changes carry an evidence id checked before writing,
reactions and edits change the message they point at.
"""

from apps.conversations.services.inbound.common import ProcessResult
from apps.conversations.services.inbound.processing import (
    status_retry,
    webhook_body_read,
    webhook_event_process,
    webhook_event_store,
    webhook_events_apply,
)

__all__ = [
    "ProcessResult",
    "status_retry",
    "webhook_body_read",
    "webhook_event_process",
    "webhook_event_store",
    "webhook_events_apply",
]
