"""The one outbound check: every message that leaves passes it, whoever sends it.

Agents (inbox, API), the keyword and double opt-in replies, CSAT, and every automated sender to come
(rules, assistants, payment requests) send through `message_send`, which asks `outbound_check`. Two
rules, each defined once and only referred to here:

- every message: the channel's send window and tags (`policy.send_policy_check`), refused with its code;
- marketing content (a marketing-category template, or free text a sender declares marketing): granted
  marketing consent on the channel, not pending, not suppressed, not erased (`contacts.gate.marketing_refusal`,
  the rule campaigns apply set-based), else `no_marketing_consent`.

Utility and service messages need no marketing consent; they keep the window and tag rules. Meta may
re-categorise an approved template (`template_category_update`), so the template is read again from
the database at send time: its status and category are never trusted from the picker or the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models

from apps.contacts.gate import REASON_TEXT, marketing_refusal
from apps.conversations import hooks, policy
from apps.conversations.models import Conversation, Message

# Message.metadata key marking marketing content, so delivery checks consent again.
CATEGORY_KEY = "category"


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
    fresh = hooks.resolve_template(merchant=merchant, template_id=template.id)
    if fresh is None:
        raise policy.PolicyRefused("template_not_found")
    return fresh


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
    agent needs (an erased contact has no address left either, but that is not the reason).
    """
    if content.category == ContentCategory.MARKETING:
        reason = marketing_refusal(
            merchant=conversation.merchant, channel=conversation.channel.kind, contact_id=conversation.contact_id
        )
        if reason is not None:
            return policy.refusal("no_marketing_consent", _consent_text(reason))
    return policy.send_policy_check(
        conversation=conversation,
        now=now,
        is_template=content.is_template,
        automated=content.automated,
        human_agent=content.human_agent,
        tag=content.tag,
    )


def delivery_refusal(*, message: Message) -> str | None:
    """At delivery, for a queued marketing message: why it may no longer go (a STOP arrived while it waited
    or retried), or None. The same gate as at send time."""
    if message.metadata.get(CATEGORY_KEY) != ContentCategory.MARKETING:
        return None
    conversation = message.conversation
    reason = marketing_refusal(
        merchant=conversation.merchant, channel=message.channel.kind, contact_id=conversation.contact_id
    )
    return None if reason is None else _consent_text(reason)


def _consent_text(reason: str) -> str:
    return f"{policy.MESSAGES['no_marketing_consent']}: {REASON_TEXT[reason]}."
