"""The portal's main navigation, filtered by the member's role."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from apps.core.roles import Capability, role_can


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: str | None
    section: str


# Only pages that exist: a name that does not reverse fails every page render (and tests/core/test_navigation.py).
NAVIGATION = [
    NavItem("Dashboard", "core:dashboard", None, "dashboard"),
    NavItem("Inbox", "conversations:inbox", Capability.INBOX, "inbox"),
    NavItem("Tickets", "tickets:list", Capability.TICKETS, "tickets"),
    NavItem("Contacts", "contacts:list", Capability.CONTACTS_VIEW, "contacts"),
    NavItem("Campaigns", "campaigns:list", Capability.CAMPAIGNS, "campaigns"),
    NavItem("Settings", "merchants:settings", Capability.SETTINGS, "settings"),
]


def navigation_for(role: str | None, current_path: str) -> list[dict]:
    items = []
    for item in NAVIGATION:
        if item.capability and not role_can(role, item.capability):
            continue
        url = reverse(item.url_name)
        active = current_path == url or (url != "/" and current_path.startswith(url))
        items.append({"label": item.label, "url": url, "active": active, "section": item.section})
    return items
