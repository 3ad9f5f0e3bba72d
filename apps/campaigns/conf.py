"""Tunables, overridable from settings or (for test workers) the environment."""

from __future__ import annotations

import os

from django.conf import settings


def _value(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else float(getattr(settings, name, default))


def lease_seconds() -> float:
    """How long a claim may stay unresolved before the reaper decides its fate."""
    return _value("CAMPAIGNS_LEASE_SECONDS", 120)


def batch_size() -> int:
    return int(_value("CAMPAIGNS_BATCH_SIZE", 1000))


def senders() -> int:
    """Batch chains started per campaign; claims are SKIP LOCKED so any number may share the work."""
    return int(_value("CAMPAIGNS_SENDERS", 4))


def concurrency() -> int:
    return int(_value("CAMPAIGNS_HTTP_CONCURRENCY", 200))


def heartbeat_stale_seconds() -> float:
    return _value("CAMPAIGNS_HEARTBEAT_STALE_SECONDS", 10)


def follow_up_horizon_seconds() -> float:
    """A sender chain with nothing due waits for work due within this long; later work is the tick's."""
    return _value("CAMPAIGNS_FOLLOW_UP_SECONDS", 150)


def max_attempts() -> int:
    return int(_value("CAMPAIGNS_MAX_ATTEMPTS", 5))


DEFAULT_THROTTLE = {"whatsapp": 80, "messenger": 40}
