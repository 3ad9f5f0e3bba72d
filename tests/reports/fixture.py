"""A hand-built week of Tienda-like history whose every report figure is computed by hand in test_metrics_exact.

Merchant in Europe/Madrid (UTC+1 in January); business hours Monday-Friday 09:00-17:00 Madrid. The report
week is Monday 2026-01-05 to Sunday 2026-01-11. Times below are Madrid wall-clock times.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from apps.contacts.models import ConsentEvent
from apps.conversations.models import (
    AuthorKind,
    ChannelKind,
    Conversation,
    ConversationLifecycleEvent,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from apps.core.roles import Role
from apps.tickets.models import Ticket
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory, UserFactory
from tests.factories.tickets import BusinessHoursFactory, SlaPolicyFactory, make_ticket

MADRID = ZoneInfo("Europe/Madrid")
WEEK = {"from": "2026-01-05", "to": "2026-01-11"}
NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MADRID)


class Week:
    def __init__(self, merchant) -> None:
        self.merchant = merchant
        BusinessHoursFactory(merchant=merchant, periods=NINE_TO_FIVE, is_default=True)
        self.wa = ChannelFactory(merchant=merchant, kind=ChannelKind.WHATSAPP)
        self.web = ChannelFactory(merchant=merchant, kind=ChannelKind.WEBCHAT)
        self.ana = MembershipFactory(
            merchant=merchant, role=Role.AGENT, user=UserFactory(email=f"ana@{merchant.slug}.test")
        ).user
        self.bea = MembershipFactory(
            merchant=merchant, role=Role.AGENT, user=UserFactory(email=f"bea@{merchant.slug}.test")
        ).user

    def conversation(self, channel, created: str, assignee=None) -> Conversation:
        conversation = ConversationFactory(merchant=self.merchant, channel=channel, assignee=assignee)
        Conversation.objects.filter(pk=conversation.pk).update(created_at=at(created))
        return conversation

    def customer(self, conversation, when: str) -> None:
        MessageFactory(conversation=conversation, created_at=at(when))

    def member(self, conversation, user, when: str, **kwargs) -> None:
        MessageFactory(
            conversation=conversation, direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.AGENT,
            author=user, status=MessageStatus.SENT, created_at=at(when), **kwargs,
        )  # fmt: skip

    def bot(self, conversation, when: str) -> None:
        MessageFactory(
            conversation=conversation, direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.BOT,
            automated=True, status=MessageStatus.SENT, created_at=at(when),
        )  # fmt: skip

    def lifecycle(self, conversation, kind: str, when: str, assignee=None) -> None:
        ConversationLifecycleEvent.objects.create(
            merchant=self.merchant, conversation=conversation, kind=kind, at=at(when), assignee=assignee
        )


def build_conversations(week: Week) -> None:
    ana, bea, wa, web = week.ana, week.bea, week.wa, week.web
    c1 = week.conversation(wa, "2026-01-05 10:00", ana)  # a plain one
    week.customer(c1, "2026-01-05 10:00")
    week.member(c1, ana, "2026-01-05 10:05")
    week.lifecycle(c1, "resolved", "2026-01-05 11:00", ana)

    c2 = week.conversation(wa, "2026-01-05 16:30", ana)  # bot and automation first, the human next morning
    week.customer(c2, "2026-01-05 16:30")
    week.bot(c2, "2026-01-05 16:31")
    week.member(c2, ana, "2026-01-05 16:32", automated=True)  # a rule's reply in the agent's name
    week.member(c2, ana, "2026-01-06 09:30")
    week.lifecycle(c2, "resolved", "2026-01-06 10:30", ana)

    c3 = week.conversation(web, "2026-01-09 16:00", bea)  # across the weekend, answered and solved next week
    week.customer(c3, "2026-01-09 16:00")
    week.member(c3, bea, "2026-01-12 09:15")
    week.lifecycle(c3, "resolved", "2026-01-12 10:00", bea)

    c4 = week.conversation(wa, "2026-01-06 20:00", bea)  # outside business hours, then reopened
    week.customer(c4, "2026-01-06 20:00")
    week.member(c4, bea, "2026-01-06 20:10")
    week.lifecycle(c4, "resolved", "2026-01-06 20:30", bea)
    week.customer(c4, "2026-01-08 10:00")
    week.lifecycle(c4, "reopened", "2026-01-08 10:00", bea)
    week.member(c4, ana, "2026-01-08 10:20")
    week.lifecycle(c4, "resolved", "2026-01-08 11:00", bea)

    c5 = week.conversation(web, "2026-01-07 11:00", ana)  # unanswered: an internal note is no reply
    week.customer(c5, "2026-01-07 11:00")
    week.member(c5, ana, "2026-01-07 11:05", kind=MessageKind.NOTE)

    c6 = week.conversation(wa, "2026-01-07 12:00")  # the bot resolved it; reopened, a member answered
    week.customer(c6, "2026-01-07 12:00")
    week.bot(c6, "2026-01-07 12:01")
    week.lifecycle(c6, "resolved", "2026-01-07 12:10")
    week.customer(c6, "2026-01-07 15:00")
    week.lifecycle(c6, "reopened", "2026-01-07 15:00")
    week.member(c6, ana, "2026-01-07 15:30")
    week.lifecycle(c6, "resolved", "2026-01-07 16:00", ana)

    c7 = week.conversation(wa, "2026-01-04 10:00", bea)  # started the Sunday before, resolved in the week
    week.customer(c7, "2026-01-04 10:00")
    week.member(c7, bea, "2026-01-04 10:30")
    week.lifecycle(c7, "resolved", "2026-01-05 09:00", bea)

    c8 = week.conversation(web, "2026-01-11 23:30")  # Sunday 22:30 UTC: still the week in Madrid
    week.customer(c8, "2026-01-11 23:30")
    c9 = week.conversation(web, "2026-01-12 00:30")  # Sunday 23:30 UTC: Monday in Madrid, outside
    week.customer(c9, "2026-01-12 00:30")


def _ticket(week: Week, **fields) -> Ticket:
    ticket = make_ticket(week.merchant, contact=ContactFactory(merchant=week.merchant))
    Ticket.objects.filter(pk=ticket.pk).update(**{"sla_policy": None, "sla_targets": {}, **fields})
    return ticket


def build_csat(week: Week) -> None:
    _ticket(week, assignee=week.ana, csat_sent_at=at("2026-01-05 12:00"), csat_rating=5)
    _ticket(week, assignee=week.ana, csat_sent_at=at("2026-01-06 12:00"), csat_rating=4)
    _ticket(week, assignee=week.bea, csat_sent_at=at("2026-01-07 12:00"), csat_rating=2)
    _ticket(week, assignee=week.bea, csat_sent_at=at("2026-01-08 12:00"))  # unanswered
    _ticket(week, csat_sent_at=at("2026-01-09 12:00"), csat_rating=5)  # nobody assigned
    _ticket(week, assignee=week.ana, csat_sent_at=at("2026-01-12 12:00"), csat_rating=1)  # the next week


def build_sla(week: Week) -> None:
    standard = SlaPolicyFactory(merchant=week.merchant, name="Standard")
    vip = SlaPolicyFactory(merchant=week.merchant, name="VIP")
    both, first_only = {"first_response": 3600, "resolution": 28800}, {"first_response": 900}

    def ticket(policy, targets, created, **fields):
        _ticket(week, created_at=at(created), sla_policy=policy, sla_targets=targets, **fields)

    # S1: first response on time; resolved late (flagged by the SLA task).
    ticket(standard, both, "2026-01-05 10:00", first_response_due_at=at("2026-01-05 11:00"),
           first_response_at=at("2026-01-05 10:30"), resolution_due_at=at("2026-01-05 18:00"),
           solved_at=at("2026-01-06 12:00"), resolution_breached=True)  # fmt: skip
    # S2: first response breached; resolution not met and due after "now": pending.
    ticket(standard, both, "2026-01-06 10:00", first_response_due_at=at("2026-01-06 11:00"),
           first_response_breached=True, resolution_due_at=at("2026-02-01 10:00"))  # fmt: skip
    # S3: neither met, both overdue, the task has not flagged them yet: both breached.
    ticket(standard, both, "2026-01-07 10:00", first_response_due_at=at("2026-01-07 11:00"),
           resolution_due_at=at("2026-01-08 10:00"))  # fmt: skip
    # S4: VIP, first response only, on time.
    ticket(vip, first_only, "2026-01-08 10:00", first_response_due_at=at("2026-01-08 10:15"),
           first_response_at=at("2026-01-08 10:10"))  # fmt: skip
    # S5: VIP, created the next week: outside.
    ticket(vip, first_only, "2026-01-12 10:00", first_response_due_at=at("2026-01-12 10:15"),
           first_response_breached=True)  # fmt: skip


def build_consent(week: Week) -> None:
    contact = ContactFactory(merchant=week.merchant)
    rows = [  # (action, resulting status, channel, source, purpose, when)
        ("grant", "granted", "whatsapp", "web_form", "marketing", "2026-01-05 10:00"),
        ("grant", "granted", "whatsapp", "keyword", "marketing", "2026-01-06 10:00"),
        ("grant", "granted", "messenger", "import", "marketing", "2026-01-06 11:00"),
        ("grant", "pending", "whatsapp", "web_form", "marketing", "2026-01-07 10:00"),  # double opt-in asked
        ("confirm", "granted", "whatsapp", "keyword", "marketing", "2026-01-07 10:05"),  # ... and confirmed
        ("revoke", "revoked", "whatsapp", "keyword", "marketing", "2026-01-08 10:00"),
        ("revoke", "revoked", "messenger", "provider_error", "marketing", "2026-01-09 10:00"),
        ("grant", "granted", "whatsapp", "web_form", "utility", "2026-01-09 11:00"),  # not marketing
        ("grant", "granted", "whatsapp", "web_form", "marketing", "2026-01-12 10:00"),  # the next week
    ]
    for action, status, channel, source, purpose, when in rows:
        ConsentEvent.objects.create(
            merchant=week.merchant, contact=contact, action=action, resulting_status=status, channel=channel,
            source=source, purpose=purpose, occurred_at=at(when), wording="Offers on WhatsApp",
        )  # fmt: skip


def build_week(merchant) -> Week:
    week = Week(merchant)
    build_conversations(week)
    build_csat(week)
    build_sla(week)
    build_consent(week)
    return week
