"""The portal's main navigation and the Settings hub's, both filtered by the member's role."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from apps.core.roles import Capability, role_can


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: str | None
    section: str
    # A setting that must be on for the item to show (the sandbox phone exists only while the sandbox does).
    only_if_setting: str | None = None


# Only pages that exist: a name that does not reverse fails every page render (and tests/core/test_navigation.py).
NAVIGATION = [
    NavItem("Dashboard", "core:dashboard", None, "dashboard"),
    NavItem("Inbox", "conversations:inbox", Capability.INBOX, "inbox"),
    NavItem("Tickets", "tickets:list", Capability.TICKETS, "tickets"),
    NavItem("Contacts", "contacts:list", Capability.CONTACTS_VIEW, "contacts"),
    NavItem("Campaigns", "campaigns:list", Capability.CAMPAIGNS, "campaigns"),
    NavItem("Reports", "reports:index", Capability.REPORTS, "reports"),
    NavItem("Sandbox phone", "sandbox:phone", Capability.CAMPAIGNS, "sandbox", only_if_setting="CHARLA_SANDBOX"),
    NavItem("Settings", "merchants:settings", Capability.SETTINGS, "settings"),
]


def navigation_for(role: str | None, current_path: str, *, settings_page: bool = False) -> list[dict]:
    """`settings_page`: the page is one of the Settings hub's, whichever app's URL it lives under (a role
    without the Settings item keeps the section its URL is in)."""
    settings_page = settings_page and role_can(role, Capability.SETTINGS)
    items = []
    for item in NAVIGATION:
        if item.capability and not role_can(role, item.capability):
            continue
        if item.only_if_setting and not getattr(settings, item.only_if_setting):
            continue
        url = reverse(item.url_name)
        active = current_path == url or (url != "/" and current_path.startswith(url))
        if settings_page:
            active = item.section == "settings"
        items.append({"label": item.label, "url": url, "active": active, "section": item.section})
    return items


@dataclass(frozen=True)
class SettingsItem:
    label: str
    url_name: str
    capability: str
    # The pages that belong to the item (its forms, edit and confirmation pages): it is marked current on them.
    url_names: frozenset[str]


# Every settings page, whichever app owns it, includes one nav (templates/core/settings_nav.html) built from this.
SETTINGS_NAVIGATION = [
    SettingsItem("General", "merchants:settings", Capability.SETTINGS, frozenset({"merchants:settings"})),
    SettingsItem(
        "Members",
        "merchants:members",
        Capability.SETTINGS,
        frozenset({"merchants:members", "merchants:member_role", "merchants:member_remove"}),
    ),
    SettingsItem(
        "Channels",
        "conversations:channels",
        Capability.SETTINGS,
        frozenset(
            {
                "conversations:channels",
                "conversations:connect_whatsapp",
                "conversations:connect_messenger",
                "conversations:channel_edit",
                "conversations:channel_check",
                "conversations:channel_toggle",
                "conversations:channel_delete",
                "conversations:widget_new",
                "conversations:widget_settings",
                "conversations:widget_preview",
            }
        ),
    ),
    SettingsItem("API keys", "merchants:api_keys", Capability.SETTINGS, frozenset({"merchants:api_keys"})),
    SettingsItem(
        "Consent & keywords", "contacts:settings", Capability.CONTACTS_MANAGE, frozenset({"contacts:settings"})
    ),
    SettingsItem(
        "Business hours & SLAs",
        "tickets:hours_list",
        Capability.SETTINGS,
        frozenset({"tickets:hours_list", "tickets:hours_edit", "tickets:policies_list", "tickets:policies_edit"}),
    ),
    SettingsItem(
        "Teams",
        "tickets:teams_list",
        Capability.SETTINGS,
        frozenset({"tickets:teams_list", "tickets:teams_edit", "tickets:macros_list", "tickets:macros_edit"}),
    ),
]


def settings_navigation_for(role: str | None, view_name: str | None) -> list[dict]:
    """The Settings hub's links this role may open; `view_name` ("app:name") marks the current one."""
    return [
        {"label": item.label, "url": reverse(item.url_name), "active": view_name in item.url_names}
        for item in SETTINGS_NAVIGATION
        if role_can(role, item.capability)
    ]
