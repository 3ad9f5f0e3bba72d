"""Conversation lifecycle: finding the thread for an inbound message, assignment, status, labels."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from apps.conversations import events
from apps.conversations.models import (
    AgentPresence,
    Channel,
    Conversation,
    ConversationLifecycleEvent,
    ConversationPriority,
    ConversationStatus,
    LifecycleKind,
    PresenceStatus,
)
from apps.conversations.services.event_shapes import conversation_payload
from apps.core.roles import Capability
from apps.core.tenancy import ensure_same_merchant

logger = logging.getLogger(__name__)

UNRESOLVED = (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED)
# A customer writing again within this many days of a resolution continues the same thread.
DEFAULT_REOPEN_DAYS = 7
MAX_LABELS = 20
MAX_LABEL_LENGTH = 50


def conversation_publish(conversation: Conversation, kind: str = "conversation.updated") -> None:
    events.publish(
        merchant_id=conversation.merchant_id,
        kind=kind,
        payload=conversation_payload(conversation),
        conversation_id=conversation.pk,
    )


def conversation_for_inbound(
    *, channel: Channel, contact, at: datetime, publish: bool = True, visitor_id: str = ""
) -> tuple[Conversation, bool]:
    """The (locked) conversation an inbound message belongs to; reopens it when needed.

    Rule: the unresolved conversation of (channel, contact, visitor) if any; else the latest resolved one when
    it was resolved within `conversation_reopen_days` (merchant setting, default 7); else a new one. The
    visitor is the widget browser writing (blank on WhatsApp and Messenger), so a browser never continues a
    thread another browser of the same contact opened. Returns (conversation, changed_status).
    `publish=False` leaves announcing a new conversation to the caller (message_receive folds it into its
    `message.created` event).
    """
    ensure_same_merchant(merchant_id=channel.merchant_id, contact=contact)
    base = Conversation.objects.select_for_update().filter(channel=channel, contact=contact, visitor_id=visitor_id)
    # One query for both candidates: the unresolved one if any (there is at most one), else the newest.
    unresolved_first = Case(When(status__in=UNRESOLVED, then=Value(0)), default=Value(1), output_field=IntegerField())
    latest = base.order_by(unresolved_first, "-id").first()
    if latest is not None and latest.status in UNRESOLVED:
        changed = latest.status == ConversationStatus.SNOOZED
        if changed:
            _reopen(latest)
        return latest, changed
    days = channel.merchant.setting("conversation_reopen_days", DEFAULT_REOPEN_DAYS)
    if latest is not None and latest.resolved_at and latest.resolved_at >= timezone.now() - timedelta(days=days):
        try:
            with transaction.atomic():
                _reopen(latest)
            return latest, True
        except IntegrityError:  # a concurrent inbound created an unresolved one meanwhile
            return base.filter(status__in=UNRESOLVED).get(), False
    return _create(channel=channel, contact=contact, at=at, publish=publish, visitor_id=visitor_id), True


def conversations_for_inbound_many(*, channel: Channel, first_at: dict) -> dict[int, Conversation]:
    """`conversation_for_inbound` for many senders of one channel (`first_at`: contact -> its first message's
    time), keyed by contact id; nothing is published (each message's event carries its conversation).

    The conversation is the first row an inbound message locks, as an agent's reply does (DR-81):
    the existing rows are locked here in id order, before any contact row.
    """
    for contact in first_at:
        ensure_same_merchant(merchant_id=channel.merchant_id, contact=contact)
    days = channel.merchant.setting("conversation_reopen_days", DEFAULT_REOPEN_DAYS)
    recent = Q(status__in=UNRESOLVED) | Q(resolved_at__gte=timezone.now() - timedelta(days=days))
    rows = Conversation.objects.select_for_update().filter(recent, channel=channel, contact__in=list(first_at))
    chosen: dict[int, Conversation] = {}
    for row in rows.order_by("id"):  # the unresolved one, else the newest recently resolved
        current = chosen.get(row.contact_id)
        if current is None or current.status not in UNRESOLVED:
            chosen[row.contact_id] = row
    contacts = {contact.pk: contact for contact in first_at}
    for contact_id, conversation in list(chosen.items()):
        if conversation.status not in (ConversationStatus.OPEN, ConversationStatus.PENDING):  # reopened: rare
            contact = contacts[contact_id]
            chosen[contact_id], _ = conversation_for_inbound(
                channel=channel, contact=contact, at=first_at[contact], publish=False
            )
    missing = {contact: at for contact, at in first_at.items() if contact.pk not in chosen}
    chosen.update(_create_many(channel, missing))
    return chosen


def _create_many(channel: Channel, first_at: dict) -> dict[int, Conversation]:
    rows = [
        Conversation(merchant_id=channel.merchant_id, channel=channel, contact=contact, last_message_at=at)
        for contact, at in first_at.items()
    ]
    if not rows:
        return {}
    try:
        with transaction.atomic():
            Conversation.objects.bulk_create(rows)
    except IntegrityError:  # a concurrent inbound created one of them: one by one, each race-safe
        return {c.pk: _create(channel=channel, contact=c, at=at, publish=False) for c, at in first_at.items()}
    if _round_robin_on(channel):
        for conversation in rows:
            _assign_round_robin(conversation)
    return {conversation.contact_id: conversation for conversation in rows}


@transaction.atomic
def conversation_start(*, channel: Channel, contact, visitor_id: str | None = None) -> tuple[Conversation, bool]:
    """An agent (or campaign) starts talking first: the contact's unresolved conversation on this channel,
    else a new one. Returns (conversation, created). Sending still goes through the policy (a WhatsApp
    contact who never wrote needs a template).

    `visitor_id` names the widget browser the conversation is for (the pre-chat's own). None (an agent) takes
    the contact's newest unresolved thread on the channel whoever's it is, and a new one goes to the browser
    of the contact's newest thread there: the agent writes to the contact, the widget shows it to one browser.
    """
    ensure_same_merchant(merchant_id=channel.merchant_id, contact=contact)
    if contact.erased_at or contact.merged_into_id:
        raise ValidationError({"contact": "was erased or merged into another contact"})
    threads = Conversation.objects.select_for_update().filter(channel=channel, contact=contact).order_by("-id")
    if visitor_id is not None:
        threads = threads.filter(visitor_id=visitor_id)
    current = threads.filter(status__in=UNRESOLVED).first()
    if current is not None:
        return current, False
    if visitor_id is None:
        visitor_id = threads.values_list("visitor_id", flat=True).first() or ""
    conversation = _create(channel=channel, contact=contact, at=timezone.now(), visitor_id=visitor_id)
    return conversation, True


def _reopen(conversation: Conversation) -> None:
    if conversation.status == ConversationStatus.RESOLVED:
        _lifecycle_record(conversation, LifecycleKind.REOPENED)
    conversation.status = ConversationStatus.OPEN
    conversation.snoozed_until = None
    conversation.resolved_at = None
    conversation.save(update_fields=["status", "snoozed_until", "resolved_at", "updated_at"])


def _create(*, channel: Channel, contact, at: datetime, publish: bool = True, visitor_id: str = "") -> Conversation:
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                merchant_id=channel.merchant_id, channel=channel, contact=contact, visitor_id=visitor_id,
                last_message_at=at,
            )  # fmt: skip
    except IntegrityError:  # the unique "one unresolved" constraint: another process won the race
        return Conversation.objects.select_for_update().get(
            channel=channel, contact=contact, visitor_id=visitor_id, status__in=UNRESOLVED
        )
    if _round_robin_on(channel):
        _assign_round_robin(conversation)
    if publish:
        conversation_publish(conversation, "conversation.created")
    return conversation


def _assign_round_robin(conversation: Conversation) -> None:
    assignee = round_robin_pick(merchant=conversation.merchant_id)
    if assignee is not None:
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee", "updated_at"])


def _round_robin_on(channel: Channel) -> bool:
    return bool(channel.merchant.setting("round_robin", False))


def round_robin_pick(*, merchant):
    """The online agent idle longest (least recently assigned), locked so two inbound races differ."""
    presence = (
        AgentPresence.objects.for_merchant(merchant)
        .select_for_update(skip_locked=True)
        .filter(status=PresenceStatus.ONLINE, last_seen_at__gte=timezone.now() - presence_ttl())
        .select_related("user")
        .order_by(F("last_assigned_at").asc(nulls_first=True), "id")
        .first()
    )
    if presence is None:
        return None
    presence.last_assigned_at = timezone.now()
    presence.save(update_fields=["last_assigned_at"])
    return presence.user


def presence_ttl() -> timedelta:
    # A socket heartbeats every ~30 s; an agent silent for longer is not really online.
    return timedelta(minutes=2)


# --------------------------------------------------------------------------- agent actions
def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().select_related("channel").get(pk=conversation.pk)


def assignee_check(*, merchant, user) -> None:
    from apps.merchants.selectors import member_can

    if not member_can(merchant=merchant, user=user, capability=Capability.INBOX):
        raise ValidationError({"assignee": "is not an agent of this merchant"})


@transaction.atomic
def conversation_assign(*, conversation: Conversation, assignee) -> Conversation:
    """Assign to a member with inbox access, or unassign with None."""
    if assignee is not None:
        assignee_check(merchant=conversation.merchant_id, user=assignee)
    conversation = _locked(conversation)
    if conversation.assignee_id != (assignee.pk if assignee else None):
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee", "updated_at"])
        conversation_publish(conversation)
    return conversation


@transaction.atomic
def conversation_set_status(
    *, conversation: Conversation, status: str, snoozed_until: datetime | None = None
) -> Conversation:
    if status not in ConversationStatus.values:
        raise ValidationError({"status": f"must be one of {', '.join(ConversationStatus.values)}"})
    snooze_ok = snoozed_until is not None and snoozed_until > timezone.now()
    if status == ConversationStatus.SNOOZED and not snooze_ok:
        raise ValidationError({"snoozed_until": "a snoozed conversation needs a wake-up time in the future"})
    conversation = _locked(conversation)
    if (
        status != ConversationStatus.RESOLVED
        and conversation.status == ConversationStatus.RESOLVED
        and _has_unresolved(conversation)
    ):
        raise ValidationError({"status": "the contact already has an unresolved conversation on this channel"})
    if (status == ConversationStatus.RESOLVED) != (conversation.status == ConversationStatus.RESOLVED):
        resolving = status == ConversationStatus.RESOLVED
        _lifecycle_record(conversation, LifecycleKind.RESOLVED if resolving else LifecycleKind.REOPENED)
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == ConversationStatus.SNOOZED else None
    conversation.resolved_at = timezone.now() if status == ConversationStatus.RESOLVED else None
    conversation.save(update_fields=["status", "snoozed_until", "resolved_at", "updated_at"])
    conversation_publish(conversation)
    return conversation


def _lifecycle_record(conversation: Conversation, kind: str) -> None:
    ConversationLifecycleEvent.objects.create(
        merchant_id=conversation.merchant_id, conversation=conversation, kind=kind,
        assignee_id=conversation.assignee_id,
    )  # fmt: skip


def _has_unresolved(conversation: Conversation) -> bool:
    return Conversation.objects.filter(
        channel_id=conversation.channel_id, contact_id=conversation.contact_id, status__in=UNRESOLVED
    ).exists()


def conversation_snooze(*, conversation: Conversation, until: datetime) -> Conversation:
    return conversation_set_status(conversation=conversation, status=ConversationStatus.SNOOZED, snoozed_until=until)


def labels_clean(labels) -> list[str]:
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValidationError({"labels": "must be a list of strings"})
    cleaned: list[str] = []
    for label in labels:
        label = label.strip()
        if not label or len(label) > MAX_LABEL_LENGTH:
            raise ValidationError({"labels": f"each label needs 1 to {MAX_LABEL_LENGTH} characters"})
        if label not in cleaned:
            cleaned.append(label)
    if len(cleaned) > MAX_LABELS:
        raise ValidationError({"labels": f"at most {MAX_LABELS} labels"})
    return cleaned


@transaction.atomic
def conversation_set_labels(*, conversation: Conversation, labels: list[str]) -> Conversation:
    cleaned = labels_clean(labels)
    conversation = _locked(conversation)
    conversation.labels = cleaned
    conversation.save(update_fields=["labels", "updated_at"])
    conversation_publish(conversation)
    return conversation


@transaction.atomic
def conversation_set_priority(*, conversation: Conversation, priority: str) -> Conversation:
    if priority not in ConversationPriority.values:
        raise ValidationError({"priority": f"must be one of {', '.join(ConversationPriority.values)}"})
    conversation = _locked(conversation)
    conversation.priority = priority
    conversation.save(update_fields=["priority", "updated_at"])
    conversation_publish(conversation)
    return conversation


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, user=None) -> Conversation:
    conversation = _locked(conversation)
    if conversation.unread_count:
        conversation.unread_count = 0
        conversation.save(update_fields=["unread_count", "updated_at"])
        conversation_publish(conversation)
    return conversation


def conversations_wake_snoozed(*, now: datetime | None = None, batch: int = 500) -> int:
    """Reopen snoozed conversations whose wake-up time passed (beat task)."""
    now = now or timezone.now()
    woken = 0
    ids = list(
        Conversation.objects.filter(status=ConversationStatus.SNOOZED, snoozed_until__lte=now).values_list(
            "id", flat=True
        )[:batch]
    )
    for conversation_id in ids:
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update(skip_locked=True)
                .filter(pk=conversation_id, status=ConversationStatus.SNOOZED)
                .first()
            )
            if conversation is None:
                continue
            _reopen(conversation)
            conversation_publish(conversation)
            woken += 1
    return woken


@transaction.atomic
def presence_set(*, merchant, user, status: str) -> AgentPresence:
    """Called by the agents' socket on connect/heartbeat/disconnect."""
    if status not in PresenceStatus.values:
        raise ValidationError({"status": f"must be one of {', '.join(PresenceStatus.values)}"})
    merchant_id = merchant if isinstance(merchant, int) else merchant.pk
    presence, _ = AgentPresence.objects.get_or_create(merchant_id=merchant_id, user=user)
    previous = presence.status
    presence.status = status
    presence.last_seen_at = timezone.now()
    presence.save(update_fields=["status", "last_seen_at"])
    if previous != status:
        events.publish(
            merchant_id=merchant_id,
            kind="presence.updated",
            payload={"internal": True, "user_id": user.pk, "status": status},
        )
    return presence
