"""The one outbound check: every message that leaves passes it, whoever sends it.

Agents (inbox, API), the keyword and double opt-in replies, CSAT, and every automated sender to come
(rules, assistants, payment requests) send through `message_send`, which asks `outbound_check`. The
rules, each defined once and only referred to here, in the order they answer:

- marketing content (a marketing-category template, or free text a sender declares marketing): the
  campaigns' consent gate (`contacts.gate.marketing_refusal`): an erased or suppressed person is
  refused `suppressed`; consent not granted on the channel (none, revoked, pending) `no_marketing_consent`;
- every message: the channel's send window and tags (`policy.send_policy_check`), refused with its code;
- marketing content: the merchant's quiet hours in the contact's zone (`quiet_hours`) and frequency cap
  over every marketing message the contact got, campaigns included (`frequency_cap`); both are off
  unless the merchant sets them, and the window arithmetic is the campaigns' (`contacts.schedule`).

Utility and service messages need no marketing consent and keep no quiet hours or cap; they keep the
window and tag rules. Meta may re-categorise an approved template (`template_category_update`), so the
template is read again from the database at send time: its status and category are never trusted from
the picker or the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models

from apps.contacts import schedule
from apps.contacts.gate import REASON_TEXT, marketing_refusal, refusal_code
from apps.contacts.models import Contact
from apps.contacts.services import contact_timezone
from apps.conversations import extension_points, policy
from apps.conversations.models import Conversation, Message, MessageDirection, MessageStatus
from apps.meta import payloads

# Message.metadata key marking marketing content, so delivery checks consent again.
CATEGORY_KEY = "category"
# Message.metadata key holding a template's header and buttons as queued (the template may change later).
TEMPLATE_PARTS_KEY = "template_parts"


class ContentCategory(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    UTILITY = "utility", "Utility"
    AUTHENTICATION = "authentication", "Authentication"
    SERVICE = "service", "Service (a reply to the customer)"


@dataclass(frozen=True)
class Outbound:
    """What is about to be sent, as the check sees it."""

    category: str
    is_template: bool
    automated: bool
    human_agent: bool
    tag: str | None = None


def template_fresh(*, merchant: Any, template: Any) -> Any:
    """The template as stored now (Meta may have paused or re-categorised it since it was picked)."""
    fresh = extension_points.resolve_template(merchant=merchant, template_id=template.id)
    if fresh is None:
        raise policy.PolicyRefused("template_not_found")
    return fresh


def template_parts(template: extension_points.Template) -> dict[str, Any]:
    """The header and buttons a template is sent with, as `payloads.whatsapp_template_payload` takes them:
    the inbox and campaigns both read a template through this, so both send the same components."""
    quick_replies = [button["payload"] for button in template.buttons or []]
    header = payloads.template_header(media_type=template.header_media_type, link=template.header_media_url)
    return {"header": header, "buttons": payloads.template_buttons(quick_replies=quick_replies)}


def content_category(*, template: Any | None, declared: str) -> str:
    """A template's category (anything Meta does not call utility or authentication counts as marketing);
    a sender that declares its content marketing is believed over a template that says otherwise."""
    if declared not in ContentCategory.values:
        raise ValueError(f"unknown content category {declared!r}")
    if template is None:
        return declared
    category = str(template.category).lower()
    if declared == ContentCategory.MARKETING or category not in ContentCategory.values:
        return ContentCategory.MARKETING
    return category


def outbound_check(*, conversation: Conversation, content: Outbound, now: datetime) -> policy.PolicyDecision:
    """May this content go to this conversation's contact now? The decision carries the refusal code.

    Consent comes first for marketing: whether this person may get promotions at all is the answer an
    agent needs. Quiet hours and the cap come last: waiting cures them, and nothing else does.
    """
    marketing = content.category == ContentCategory.MARKETING
    if marketing and (refused := _consent_refusal(conversation, conversation.channel.kind)):
        return refused
    decision = policy.send_policy_check(
        conversation=conversation,
        now=now,
        is_template=content.is_template,
        automated=content.automated,
        human_agent=content.human_agent,
        tag=content.tag,
    )
    if marketing and decision.allowed:
        return _quiet_hours_refusal(conversation, now) or _frequency_cap_refusal(conversation, now) or decision
    return decision


def delivery_refusal(*, message: Message) -> policy.PolicyDecision | None:
    """At delivery, for a queued marketing message: why it may no longer go (a STOP or an erasure arrived
    while it waited or retried), or None. The same gate as at send time."""
    if message.metadata.get(CATEGORY_KEY) != ContentCategory.MARKETING:
        return None
    return _consent_refusal(message.conversation, message.channel.kind)


def _consent_refusal(conversation: Conversation, channel_kind: str) -> policy.PolicyDecision | None:
    reason = marketing_refusal(merchant=conversation.merchant, channel=channel_kind, contact_id=conversation.contact_id)
    if reason is None:
        return None
    code = refusal_code(reason)
    return policy.refusal(code, f"{policy.MESSAGES[code]}: {REASON_TEXT[reason]}.")


def _quiet_hours_refusal(conversation: Conversation, now: datetime) -> policy.PolicyDecision | None:
    merchant = conversation.merchant
    quiet = schedule.quiet_hours_parse(merchant.setting(schedule.QUIET_HOURS_SETTING))
    if quiet is None:
        return None
    tz_name = contact_timezone(conversation.contact, merchant=merchant)
    release = schedule.quiet_hours_release(now=now, tz_name=tz_name, start=quiet[0], end=quiet[1])
    if release is None:
        return None
    start, end = (t.strftime("%H:%M") for t in quiet)
    return policy.refusal(
        "quiet_hours", f"{policy.MESSAGES['quiet_hours']} ({start}-{end} in the contact's time zone, {tz_name})."
    )


def _frequency_cap_refusal(conversation: Conversation, now: datetime) -> policy.PolicyDecision | None:
    merchant = conversation.merchant
    cap = schedule.frequency_cap_parse(merchant.setting(schedule.FREQUENCY_CAP_SETTING))
    if cap is None:
        return None
    limit, period = cap
    # Held until the message is stored (message_send's transaction), so a racing send waits, then counts it.
    # Conversation before contact: the order inbound messages (a STOP) take them in.
    Conversation.objects.select_for_update().filter(pk=conversation.pk).values_list("pk").get()
    Contact.objects.select_for_update().filter(pk=conversation.contact_id).values_list("pk").get()
    tz_name = contact_timezone(conversation.contact, merchant=merchant)
    since = schedule.cap_window_start(now=now, tz_name=tz_name, period=period)
    sent = marketing_sent_count(merchant=merchant, contact_id=conversation.contact_id, since=since)
    if sent < limit:
        return None
    return policy.refusal(
        "frequency_cap", f"{policy.MESSAGES['frequency_cap']}: {sent} of {limit} this {period} (in {tz_name})."
    )


def marketing_sent_count(*, merchant: Any, contact_id: int, since: datetime) -> int:
    """Marketing messages that went (or are queued to go) to the contact since `since`, on any channel and
    from any sender: those this check let through (marked in their metadata) plus what registered apps
    count (campaign deliveries). A failed send does not count."""
    own = (
        Message.objects.for_merchant(merchant)
        .filter(
            conversation__contact_id=contact_id,
            direction=MessageDirection.OUTBOUND,
            created_at__gte=since,
            **{f"metadata__{CATEGORY_KEY}": ContentCategory.MARKETING},
        )
        .exclude(status=MessageStatus.FAILED)
        .count()
    )
    return own + extension_points.marketing_count(merchant=merchant, contact_id=contact_id, since=since)
