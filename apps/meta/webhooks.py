"""Meta's webhook bodies read into typed events: plain frozen dataclasses, no models, no domain app.

Conversations applies these events (per provider, in `services/inbound/`) and publishes the ones higher
apps care about through `apps.meta.dispatch`. Reading is total: a value of the wrong JSON type reads as
empty, as Meta's own optional fields do, so the applying side decides what an empty field means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUSES = ("sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class StatusUpdate:
    """A sent message's status: WhatsApp `statuses[]` or a Messenger delivery `mids[]` entry."""

    message_id: str
    status: str  # Meta's word: sent, delivered, read, failed (or one we do not know, kept as sent)
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""
    opaque: Any = None  # biz_opaque_callback_data exactly as we sent it (campaigns put the delivery id there)
    conversation_category: str = ""
    pricing_category: str = ""


@dataclass(frozen=True)
class TemplateReview:
    """`message_template_status_update`: Meta approved, rejected, paused … a template."""

    name: str
    language: str
    event: str
    reason: str
    raw: dict


@dataclass(frozen=True)
class TemplateCategoryChange:
    """`template_category_update`. Meta announces a change ahead (`correct_category`) and again once made
    (`previous_category`): only a completed change is the template's category now."""

    name: str
    language: str
    category: str
    completed: bool
    raw: dict


@dataclass(frozen=True)
class PreferenceChange:
    """One WhatsApp `user_preferences[]` item: the person stopped or resumed a category of messages."""

    wa_id: str
    user_id: str
    category: str  # Meta's: marketing_messages
    value: str  # Meta's: stop, resume
    detail: str
    timestamp: Any  # Meta's own value, unconverted: our evidence ids are built from it

    @property
    def marketing(self) -> bool:
        """A marketing opt-out or opt-in, the only preference Meta sends today."""
        return self.category == "marketing_messages" and self.value in ("stop", "resume")


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def seconds(value: Any) -> datetime:
    """Meta's WhatsApp timestamps are Unix seconds (as strings); an unreadable one means now."""
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(tz=UTC)


def millis(value: Any) -> datetime:
    """Messenger's timestamps and watermarks are Unix milliseconds."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(tz=UTC)


def wa_status(item: dict) -> StatusUpdate:
    """One WhatsApp `statuses[]` item; the first error names the failure."""
    error = next(iter(map(as_dict, as_list(item.get("errors")))), {})
    details = as_dict(error.get("error_data")).get("details")
    conversation = as_dict(item.get("conversation"))
    return StatusUpdate(
        message_id=str(item.get("id") or ""),
        status=str(item.get("status") or ""),
        timestamp=seconds(item.get("timestamp")),
        error_code=str(error.get("code") or ""),
        error_message=str(details or error.get("message") or error.get("title") or ""),
        opaque=item.get("biz_opaque_callback_data"),
        conversation_category=str(as_dict(conversation.get("origin")).get("type") or ""),
        pricing_category=str(as_dict(item.get("pricing")).get("category") or ""),
    )


def messenger_deliveries(delivery: dict) -> list[StatusUpdate]:
    """A Messenger `delivery`: one `delivered` per named mid, at the watermark's time."""
    at = millis(delivery.get("watermark"))
    return [
        StatusUpdate(message_id=mid, status="delivered", timestamp=at)
        for mid in map(str, as_list(delivery.get("mids")))
    ]


def wa_template_review(value: dict) -> TemplateReview:
    return TemplateReview(
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        event=str(value.get("event") or ""),
        reason=str(value.get("reason") or ""),
        raw=value,
    )


def wa_template_category(value: dict) -> TemplateCategoryChange:
    return TemplateCategoryChange(
        name=str(value.get("message_template_name") or ""),
        language=str(value.get("message_template_language") or ""),
        category=str(value.get("new_category") or ""),
        completed="previous_category" in value,
        raw=value,
    )


def wa_preference(item: dict) -> PreferenceChange:
    return PreferenceChange(
        wa_id=str(item.get("wa_id") or ""),
        user_id=str(item.get("user_id") or ""),
        category=str(item.get("category") or ""),
        value=str(item.get("value") or ""),
        detail=str(item.get("detail") or ""),
        timestamp=item.get("timestamp"),
    )
