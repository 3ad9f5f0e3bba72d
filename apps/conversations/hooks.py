"""Registries that higher apps (campaigns, tickets) fill from AppConfig.ready().

Conversations parses Meta's webhooks but must not import the apps above it: statuses of campaign
sends, template reviews and template lookups are handed to whoever registered here.
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

_status_handlers: list[Callable[..., bool]] = []
_template_status_handlers: list[Callable[..., Any]] = []
_template_resolvers: list[Callable[..., Template | None]] = []
_template_listers: list[TemplateLister] = []
_template_category_handlers: list[Callable[..., Any]] = []
_marketing_counters: list[Callable[..., int]] = []


def _add(registry: list, fn: Callable) -> Callable:
    if fn not in registry:  # ready() may run twice in some test setups
        registry.append(fn)
    return fn


def register_status_handler(fn: Callable[..., bool]) -> Callable[..., bool]:
    """fn(*, channel, provider_message_id, status, timestamp, error_code, error_message, opaque) -> bool."""
    return _add(_status_handlers, fn)


def register_template_status_handler(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn(*, merchant, name, language, event, reason, raw)."""
    return _add(_template_status_handlers, fn)


def register_template_category_handler(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn(*, merchant, name, language, category, raw): Meta changed an approved template's category."""
    return _add(_template_category_handlers, fn)


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


def dispatch_status(**kwargs: Any) -> bool:
    """True when some registered handler claimed the status."""
    handled = False
    for fn in list(_status_handlers):
        handled = bool(fn(**kwargs)) or handled
    return handled


def dispatch_template_status(**kwargs: Any) -> int:
    for fn in list(_template_status_handlers):
        fn(**kwargs)
    return len(_template_status_handlers)


def dispatch_template_category(**kwargs: Any) -> int:
    for fn in list(_template_category_handlers):
        fn(**kwargs)
    return len(_template_category_handlers)


def resolve_template(*, merchant, template_id: Any) -> Template | None:
    for fn in list(_template_resolvers):
        template = fn(merchant=merchant, template_id=template_id)
        if template is not None:
            return template
    return None
