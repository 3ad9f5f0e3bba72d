"""Roles and what each may do. The one permission map views, API and consumers consult."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"
    MARKETER = "marketer", "Marketer"


class Capability(models.TextChoices):
    INBOX = "inbox", "Conversations and inbox"
    TICKETS = "tickets", "Tickets"
    CONTACTS_VIEW = "contacts.view", "View contacts"
    CONTACTS_EDIT_PROFILE = "contacts.edit_profile", "Edit contact profiles"
    CONTACTS_MANAGE = "contacts.manage", "Import, export, erase contacts"
    SEGMENTS = "segments", "Segments"
    TEMPLATES = "templates", "Message templates"
    CAMPAIGNS = "campaigns", "Campaigns"
    REPORTS = "reports", "Reports"
    SETTINGS = "settings", "Merchant settings, members, channels, API keys"


ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(Capability.values),
    Role.AGENT: frozenset(
        {Capability.INBOX, Capability.TICKETS, Capability.CONTACTS_VIEW, Capability.CONTACTS_EDIT_PROFILE}
    ),
    Role.MARKETER: frozenset(
        {
            Capability.CONTACTS_VIEW,
            Capability.CONTACTS_EDIT_PROFILE,
            Capability.CONTACTS_MANAGE,
            Capability.SEGMENTS,
            Capability.TEMPLATES,
            Capability.CAMPAIGNS,
            Capability.REPORTS,
        }
    ),
}


def role_can(role: str | None, capability: str) -> bool:
    return bool(role) and capability in ROLE_CAPABILITIES.get(role, frozenset())
