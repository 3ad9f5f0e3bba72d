"""Extension points that higher apps (campaigns) fill from AppConfig.ready(): template lookups and the
marketing counter the frequency cap adds up.

Conversations must not import the apps above it, so what it asks of them is registered here. These are
questions conversations asks, not Meta events: Meta's webhook events go through `apps.meta.dispatch`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Template(Protocol):
    """What a template resolver or lister hands back (campaigns' MessageTemplate is one).

    Every field is read directly: a lister returning something else fails in its first test,
    rather than having the inbox guess a status or a channel for it.
    """

    @property
    def id(self) -> Any: ...
    @property
    def name(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def category(self) -> str: ...  # Meta's: marketing, utility; re-read at send time, Meta may change it
    @property
    def channel_kind(self) -> str: ...
    @property
    def variables(self) -> list[str]: ...
    @property
    def header_media_url(self) -> str: ...  # "" when the template has no media header
    @property
    def header_media_type(self) -> str: ...  # image | video | document
    @property
    def buttons(self) -> list[dict]: ...  # quick replies in order: [{"text": ..., "payload": ...}]


TemplateLister = Callable[..., list[Template]]

_template_resolvers: list[Callable[..., Template | None]] = []
_template_listers: list[TemplateLister] = []
_marketing_counters: list[Callable[..., int]] = []


def _add(registry: list, fn: Callable) -> Callable:
    if fn not in registry:  # ready() may run twice in some test setups
        registry.append(fn)
    return fn


def register_template_resolver(fn: Callable[..., Template | None]) -> Callable[..., Template | None]:
    """fn(*, merchant, template_id) -> Template | None (any status: the send policy checks it)."""
    return _add(_template_resolvers, fn)


def register_template_lister(fn: TemplateLister) -> TemplateLister:
    """fn(*, merchant, channel) -> list of Templates (the blocked composer offers the approved ones of
    the channel's kind)."""
    return _add(_template_listers, fn)


def register_marketing_counter(fn: Callable[..., int]) -> Callable[..., int]:
    """fn(*, merchant, contact_id, since) -> marketing messages the app sent that contact since then (the
    merchant's frequency cap counts them with the conversations' own)."""
    return _add(_marketing_counters, fn)


def marketing_count(*, merchant, contact_id: int, since) -> int:
    return sum(fn(merchant=merchant, contact_id=contact_id, since=since) for fn in list(_marketing_counters))


def unregister_template_lister(fn: TemplateLister) -> None:
    if fn in _template_listers:
        _template_listers.remove(fn)


def template_listers() -> list[TemplateLister]:
    return list(_template_listers)


def resolve_template(*, merchant, template_id: Any) -> Template | None:
    for fn in list(_template_resolvers):
        template = fn(merchant=merchant, template_id=template_id)
        if template is not None:
            return template
    return None
