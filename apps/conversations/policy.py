"""The one place that decides whether a message may go out on a channel right now.

Meta refuses (and may penalise) replies outside its windows, so we refuse them first, with a precise
code the API and the inbox show. The rules, in order:

| channel   | condition                                             | decision                         |
|-----------|-------------------------------------------------------|----------------------------------|
| any       | channel switched off                                  | `channel_inactive`               |
| any       | no identity on the channel's kind (WhatsApp: nor phone) | `no_identity`                  |
| webchat   | template requested                                    | `template_not_supported`         |
| webchat   | anything else                                         | allowed                          |
| whatsapp  | template (approval is checked by `template_check`)    | allowed, any time                |
| whatsapp  | free-form, customer never wrote                       | `template_required`              |
| whatsapp  | free-form, last customer message >= 24 h ago          | `outside_service_window`         |
| whatsapp  | free-form, last customer message < 24 h ago           | allowed                          |
| messenger | template requested                                    | `template_not_supported`         |
| messenger | retired or unknown tag requested                      | `tag_not_allowed`                |
| messenger | customer never wrote                                  | `outside_service_window`         |
| messenger | < 24 h                                                | allowed, `RESPONSE`              |
| messenger | 24 h .. 7 d, automated                                | `automated_outside_window`       |
| messenger | 24 h .. 7 d, not a human agent                        | `human_agent_required`           |
| messenger | 24 h .. 7 d, human agent                              | allowed, `MESSAGE_TAG`/`HUMAN_AGENT` |
| messenger | >= 7 d                                                | `human_agent_window_expired`     |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apps.conversations.extension_points import Template

SERVICE_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
ALLOWED_MESSENGER_TAGS = frozenset({"HUMAN_AGENT"})
# Meta retired these in 2020; sending one is refused by the Graph API (and we never send them).
RETIRED_MESSENGER_TAGS = frozenset(
    {
        "BUSINESS_PRODUCTIVITY",
        "COMMUNITY_ALERT",
        "CONFIRMED_EVENT_REMINDER",
        "NON_PROMOTIONAL_SUBSCRIPTION",
        "PAIRING_UPDATE",
        "APPLICATION_UPDATE",
        "ACCOUNT_UPDATE",
        "PAYMENT_UPDATE",
        "PERSONAL_FINANCE_UPDATE",
        "SHIPPING_UPDATE",
        "RESERVATION_UPDATE",
        "ISSUE_RESOLUTION",
        "APPOINTMENT_UPDATE",
        "GAME_EVENT",
        "TRANSPORTATION_UPDATE",
        "FEATURE_FUNCTIONALITY_UPDATE",
        "TICKET_UPDATE",
    }
)

MESSAGES = {
    "channel_inactive": "This channel is switched off.",
    "no_identity": "The contact has no identity on this channel, so there is nobody to send to.",
    "template_not_supported": "Templates can only be sent on WhatsApp.",
    "template_required": (
        "The customer has never written on WhatsApp: only an approved template may start the conversation."
    ),
    "outside_service_window": (
        "The customer's last message is more than 24 hours old: send an approved template instead."
    ),
    "tag_not_allowed": "Only the HUMAN_AGENT message tag may be used; the other tags are retired.",
    "automated_outside_window": "Automated messages may only be sent within 24 hours of the customer's last message.",
    "human_agent_required": (
        "Between 24 hours and 7 days after the customer's last message only a human agent may reply."
    ),
    "human_agent_window_expired": (
        "The customer's last message is more than 7 days old: Messenger does not allow a reply."
    ),
    "no_marketing_consent": "Marketing messages need the contact's granted marketing consent on this channel",
    "suppressed": "Marketing messages are never sent to a person on the suppression list",
    "quiet_hours": "Marketing messages are not sent during the merchant's quiet hours",
    "frequency_cap": "The contact has reached the merchant's limit of marketing messages",
    "template_not_found": "No template with this id.",
    "template_not_approved": "The template is not approved.",
    "template_params_invalid": "The template parameters do not match its variables.",
    "template_wrong_channel": "The template belongs to another channel kind.",
}


class PolicyRefused(Exception):
    def __init__(self, code: str, message: str | None = None):
        self.code = code
        self.message = message or MESSAGES.get(code, code)
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class PolicyDecision:
    allowed: bool
    code: str
    message: str
    messaging_type: str | None = None
    tag: str | None = None


def _allow(messaging_type: str | None = None, tag: str | None = None) -> PolicyDecision:
    return PolicyDecision(True, "allowed", "", messaging_type, tag)


def _refuse(code: str, message: str | None = None) -> PolicyDecision:
    return PolicyDecision(False, code, message or MESSAGES[code])


def refusal(code: str, message: str | None = None) -> PolicyDecision:
    """A refusal decided outside this module's tables (the consent rule in `outbound`)."""
    return _refuse(code, message)


_UNSET = object()


def send_policy_check(
    *,
    conversation,
    now: datetime,
    is_template: bool,
    automated: bool,
    human_agent: bool,
    tag: str | None = None,
    recipient: Any = _UNSET,
) -> PolicyDecision:
    """May this message go out now? `recipient` (the channel identity's external id) is looked up
    when not given."""
    channel = conversation.channel
    if not channel.is_active:
        return _refuse("channel_inactive")
    if recipient is _UNSET:
        recipient = recipient_for(conversation)
    if not recipient:
        return _refuse("no_identity")
    if channel.kind == "whatsapp":
        return _whatsapp(conversation.last_inbound_at, now, is_template)
    if channel.kind == "messenger":
        return _messenger(conversation.last_inbound_at, now, is_template, automated, human_agent, tag)
    return _refuse("template_not_supported") if is_template else _allow()


def _whatsapp(last_inbound: datetime | None, now: datetime, is_template: bool) -> PolicyDecision:
    if is_template:
        return _allow("template")
    if last_inbound is None:
        return _refuse("template_required")
    if now - last_inbound >= SERVICE_WINDOW:
        return _refuse("outside_service_window")
    return _allow("text")


def _messenger(
    last_inbound: datetime | None, now: datetime, is_template: bool, automated: bool, human_agent: bool, tag
) -> PolicyDecision:
    if is_template:
        return _refuse("template_not_supported")
    if tag is not None and (tag in RETIRED_MESSENGER_TAGS or tag not in ALLOWED_MESSENGER_TAGS):
        return _refuse("tag_not_allowed")
    if last_inbound is None:
        return _refuse("outside_service_window")
    age = now - last_inbound
    if age < SERVICE_WINDOW:
        return _allow("RESPONSE")
    if age >= HUMAN_AGENT_WINDOW:
        return _refuse("human_agent_window_expired")
    if automated:
        return _refuse("automated_outside_window")
    if not human_agent:
        return _refuse("human_agent_required")
    return _allow("MESSAGE_TAG", "HUMAN_AGENT")


def recipient_for(conversation) -> str | None:
    """The external id the provider addresses (wa_id, PSID, widget visitor id), or None.

    On WhatsApp the contact's address follows `apps.contacts.addresses.whatsapp_address`: a contact known only
    by phone (imported, never wrote) is addressed by that number, one known only by business-scoped user id
    by that id; a template may start the conversation with either.
    """
    from apps.contacts.addresses import WHATSAPP_ADDRESS_KINDS, whatsapp_address
    from apps.contacts.models import ContactIdentity

    kind = conversation.channel.kind
    identities = ContactIdentity.objects.filter(contact_id=conversation.contact_id).order_by("id")
    if kind != "whatsapp":
        return identities.filter(kind=kind).values_list("external_id", flat=True).last()
    rows = identities.filter(kind__in=WHATSAPP_ADDRESS_KINDS).values_list("kind", "external_id")
    return whatsapp_address(phone=conversation.contact.phone, identities=rows)


def template_variables(template: Template) -> list[str]:
    return [str(v) for v in template.variables]


def template_render(template: Template, params: dict | None) -> str:
    """The text the customer will read: the template body with {{name}} replaced by its value."""
    body = template.body
    for name, value in (params or {}).items():
        body = body.replace("{{" + str(name) + "}}", str(value))
    return body


def template_check(*, template: Template, channel, params: dict | None) -> None:
    """Raise PolicyRefused unless the template may be sent with these params on this channel."""
    if template.status != "approved":
        raise PolicyRefused("template_not_approved")
    if template.channel_kind != channel.kind:
        raise PolicyRefused("template_wrong_channel")
    missing = [v for v in template_variables(template) if not str((params or {}).get(v) or "").strip()]
    if missing:
        raise PolicyRefused("template_params_invalid", f"Missing template parameters: {', '.join(missing)}.")
