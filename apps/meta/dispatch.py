"""A small synchronous dispatcher for typed Meta webhook events (the classes of `apps.meta.webhooks`).

Conversations parses and applies Meta's webhooks, but the apps above it (campaigns) care about some events.
They subscribe from `AppConfig.ready()`; conversations publishes. Living in `apps.meta`, the ground floor,
the dispatcher is importable by both without a cycle, and it knows no model: whatever the publisher adds
as context (the channel, the merchant) is passed through untouched.

Semantics, kept from the registries this replaces:
- subscribers run in the order they subscribed; subscribing the same function twice is a no-op (ready()
  may run twice in some test setups);
- a subscriber that raises stops the dispatch and the exception reaches the publisher, whose per-item
  guard records the item as failed (so Meta's redelivery or a replay applies it again);
- `publish` returns every subscriber's answer in order; for a status update a truthy answer means the
  subscriber "claimed" it (it was a campaign's send), see `claimed`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Subscriber = Callable[..., Any]

_subscribers: defaultdict[type, list[Subscriber]] = defaultdict(list)


def subscribe(event_type: type, fn: Subscriber) -> Subscriber:
    """fn(event, **context) is called for every published event of exactly this class."""
    if fn not in _subscribers[event_type]:
        _subscribers[event_type].append(fn)
    return fn


def unsubscribe(event_type: type, fn: Subscriber) -> None:
    if fn in _subscribers[event_type]:
        _subscribers[event_type].remove(fn)


def subscribers(event_type: type) -> list[Subscriber]:
    return list(_subscribers[event_type])


def publish(event: object, **context: Any) -> list[Any]:
    """Every subscriber's answer, in subscription order; the first exception propagates."""
    return [fn(event, **context) for fn in subscribers(type(event))]


def claimed(event: object, **context: Any) -> bool:
    """Publish to all subscribers (none is skipped); True when any of them answered truthily."""
    answers = publish(event, **context)  # a list: every subscriber has run before any answer is read
    return any(answers)
