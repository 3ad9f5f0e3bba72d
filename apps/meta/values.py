"""Total readers for values in Meta's webhook bodies: a value of the wrong JSON type reads as empty, as Meta's
own optional fields do, so the applying side decides what an empty field means."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str:
    """A string field; missing, null or false reads as ""."""
    return str(value or "")


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
