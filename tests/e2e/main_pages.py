"""The portal's main pages, per role, over one merchant built with the factories.

Shared by the phone-width and the accessibility checks, so both walk the same screens.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from apps.core.roles import Capability, Role, role_can
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ConversationFactory, MessageFactory
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory
from tests.factories.tickets import make_ticket

LONG_URL = "https://shop.example/orders/" + "a1b2c3d4e5" * 30 + "?utm_source=whatsapp&tracking=" + "x" * 120


@dataclass(frozen=True)
class MainPage:
    name: str
    url: str
    capability: str | None


@dataclass(frozen=True)
class Shop:
    emails: dict[str, str]
    pages: list[MainPage]

    def pages_for(self, role: str) -> list[MainPage]:
        return [p for p in self.pages if p.capability is None or role_can(role, p.capability)]


def build_shop() -> Shop:
    merchant = MerchantFactory(name="Phone Shop")
    emails = {}
    for role in (Role.ADMIN, Role.AGENT, Role.MARKETER):
        emails[role] = MembershipFactory(merchant=merchant, role=role, user__email=f"{role}@phone.test").user.email
    contact = ContactFactory(merchant=merchant, name="Ana Lucía Fernández de la Torre", email="ana@phone.test")
    conversation = ConversationFactory(merchant=merchant, contact=contact)
    MessageFactory(conversation=conversation, body=f"My order: {LONG_URL}")
    ticket = make_ticket(merchant, subject="Parcel never arrived " + LONG_URL, contact=contact)
    campaign = CampaignFactory(merchant=merchant, name="Spring sale", channel=conversation.channel)
    TemplateFactory(merchant=merchant)
    SegmentFactory(merchant=merchant, name="VIP customers")
    pages = [
        MainPage("dashboard", reverse("core:dashboard"), None),
        MainPage("inbox", reverse("conversations:inbox"), Capability.INBOX),
        MainPage("conversation", reverse("conversations:conversation", args=[conversation.pk]), Capability.INBOX),
        MainPage("channels", reverse("conversations:channels"), Capability.SETTINGS),
        MainPage("contacts", reverse("contacts:list"), Capability.CONTACTS_VIEW),
        MainPage("contact detail", reverse("contacts:detail", args=[contact.pk]), Capability.CONTACTS_VIEW),
        MainPage("contact import", reverse("contacts:import"), Capability.CONTACTS_MANAGE),
        MainPage("contact settings", reverse("contacts:settings"), Capability.CONTACTS_MANAGE),
        MainPage("tickets", reverse("tickets:list"), Capability.TICKETS),
        MainPage("ticket detail", reverse("tickets:detail", args=[ticket.pk]), Capability.TICKETS),
        MainPage("new ticket", reverse("tickets:new"), Capability.TICKETS),
        MainPage("campaigns", reverse("campaigns:list"), Capability.CAMPAIGNS),
        MainPage("campaign detail", reverse("campaigns:detail", args=[campaign.pk]), Capability.CAMPAIGNS),
        MainPage("campaign wizard", reverse("campaigns:new"), Capability.CAMPAIGNS),
        MainPage("segments", reverse("campaigns:segments"), Capability.SEGMENTS),
        MainPage("templates", reverse("campaigns:templates"), Capability.TEMPLATES),
        MainPage("settings", reverse("merchants:settings"), Capability.SETTINGS),
        MainPage("members", reverse("merchants:members"), Capability.SETTINGS),
        MainPage("api keys", reverse("merchants:api_keys"), Capability.SETTINGS),
        MainPage("ticket settings: hours", reverse("tickets:hours_list"), Capability.SETTINGS),
        MainPage("ticket settings: policies", reverse("tickets:policies_list"), Capability.SETTINGS),
        MainPage("ticket settings: teams", reverse("tickets:teams_list"), Capability.SETTINGS),
        MainPage("ticket settings: macros", reverse("tickets:macros_list"), Capability.SETTINGS),
        *[
            MainPage(f"report: {name}", reverse(f"reports:{name}"), Capability.REPORTS)
            for name in ("conversations", "csat", "sla", "agents", "consent", "campaigns")
        ],
        MainPage("report: funnel", reverse("reports:campaign_funnel", args=[campaign.pk]), Capability.REPORTS),
    ]
    return Shop(emails=emails, pages=pages)


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}{reverse('login')}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
