"""Sidebar panels of the inbox's conversation view, filled by higher apps (tickets…).

Conversations sits below tickets and never imports it: a higher app registers a panel from its
AppConfig.ready(). Contact-page panels registered with `apps.contacts.privacy_hooks.register_contact_panel`
are shown too, so one registration serves both pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apps.core.roles import role_can


@dataclass(frozen=True)
class InboxPanel:
    """`render(*, conversation, request) -> str` returns safe HTML (render_to_string / format_html);
    a plain str is escaped. `capability` hides the panel from roles that lack it."""

    title: str
    render: Callable[..., str]
    capability: str | None = None
    order: int = 100


_panels: dict[str, InboxPanel] = {}


def register_inbox_panel(name: str, panel: InboxPanel) -> None:
    _panels[name] = panel


def unregister_inbox_panel(name: str) -> None:
    _panels.pop(name, None)


def sidebar_panels(*, request, conversation) -> list[dict]:
    from apps.contacts.privacy_hooks import contact_panels

    role = request.membership.role
    out = []
    for _name, panel in sorted(_panels.items(), key=lambda item: (item[1].order, item[0])):
        if panel.capability is None or role_can(role, panel.capability):
            out.append({"title": panel.title, "html": panel.render(conversation=conversation, request=request)})
    for _name, panel in contact_panels():
        if panel.capability is None or role_can(role, panel.capability):
            out.append({"title": panel.title, "html": panel.render(contact=conversation.contact, request=request)})
    return out
