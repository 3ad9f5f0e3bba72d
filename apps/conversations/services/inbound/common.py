"""What the WhatsApp and Messenger handlers share: the tally, the per-item guard, value coercion,
sender contacts and matching a status to our outbound message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import InterfaceError, OperationalError, transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.contacts.models import Contact
from apps.conversations.models import Channel, Message, MessageDirection
from apps.conversations.services.delivery import consent_revoke_for_error
from apps.conversations.services.messages import message_receive, status_apply
from apps.core import inputs
from apps.meta import errors
from apps.meta.webhooks import STATUSES, InboundMessage, ParseProblem, StatusUpdate

logger = logging.getLogger(__name__)

# Failures that may pass if the same item is processed again later: the database or Redis was away.
# Anything else (an id that fails validation, a payload we cannot read, a bug) fails the same way every
# time, so retrying it only repeats the error: it is recorded once on the event and not retried.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
)


@dataclass
class ProcessResult:
    messages: int = 0
    duplicates: int = 0
    updates: int = 0  # reactions, edits and notices applied to what was already stored
    statuses: int = 0
    unmatched_statuses: list[dict] = field(default_factory=list)
    preferences: int = 0
    template_updates: int = 0
    ignored: int = 0
    erased_people: int = 0  # items about an erased person, left unapplied (their stored copy is pruned)
    errors: list[str] = field(default_factory=list)  # transient: the task retries the event
    rejected: list[str] = field(default_factory=list)  # deterministic: kept on the event, never retried
    problems: list[str] = field(default_factory=list)  # parts not in Meta's shape: noted on the event, never retried


def safely(result: ProcessResult, what: str, fn: Callable, *args) -> None:
    """One item's failure must not stop the others; it is recorded as transient or deterministic."""
    try:
        with transaction.atomic():
            fn(*args)
    except TRANSIENT_ERRORS as exc:
        logger.exception("conversations.webhook_item_failed", extra={"item": what})
        result.errors.append(describe(what, exc))
    except Exception as exc:
        logger.exception("conversations.webhook_item_rejected", extra={"item": what})
        result.rejected.append(describe(what, exc))


def problems_record(result: ProcessResult, problems: list[ParseProblem]) -> None:
    """A part of the body that is not Meta's shape reads the same way on every run: it is noted on the event
    and never retried, and the readable parts beside it are applied all the same."""
    for problem in problems:
        logger.warning("conversations.webhook_entry_unreadable", extra={"problem": str(problem)[:500]})
        result.problems.append(str(problem)[:500])


def describe(what: str, exc: BaseException) -> str:
    return f"{what}: {exc.__class__.__name__}: {exc}"[:500]


def sender_contact(channel: Channel, identities: list[tuple[str, str]], name: str = ""):
    """The contact behind the sender's ids on this channel (one person may bring two: wa_id and user id)."""
    from apps.contacts.services import contact_resolve_identities

    return contact_resolve_identities(merchant=channel.merchant, identities=identities, name=name)


def status_to_message(channel: Channel, update: StatusUpdate) -> bool:
    """Apply a status to our outbound message it names; False when it names none of ours."""
    provider_id, status, code = update.message_id, update.status, update.error_code
    if not provider_id or status not in STATUSES:
        return False
    message = (
        Message.objects.select_for_update()
        .filter(channel=channel, provider_message_id=provider_id, direction=MessageDirection.OUTBOUND)
        .first()
    )
    if message is None:
        return False
    number = inputs.ascii_int(code)
    revoke = status == "failed" and errors.code_outcome(number) == errors.REVOKE_CONSENT
    if revoke:  # message, contact, then the seq row status_apply takes: the one lock order (DR-81)
        Contact.objects.select_for_update().filter(conversations=message.conversation_id).values_list("pk").first()
    changed = status_apply(
        message=message, status=status, at=update.timestamp, error_code=code, error_message=update.error_message
    )
    if changed and revoke:
        # Meta usually reports 131050 asynchronously, in a failed status rather than in the send answer.
        consent_revoke_for_error(message_id=message.pk, code=number)
    return True


def inbound_store(channel: Channel, contact, event: InboundMessage) -> Message | None:
    """Store what a person sent, the same way for every provider; None when it was already stored."""
    content = event.content
    return message_receive(
        channel=channel,
        contact=contact,
        provider_message_id=event.message_id,
        kind=content.kind,
        body=content.body,
        attachments=content.attachments,
        received_at=event.timestamp,
        metadata=content.metadata,
        keyword_text=content.keyword,
    )
