"""`make demo` / `make run`: the seed opens a shop that is already alive, the same every time, in few queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.campaigns.models import Campaign, CampaignStatus, Delivery, MessageTemplate, Segment, TemplateStatus
from apps.campaigns.segment_rules import rules_clean
from apps.campaigns.selectors import campaign_results
from apps.contacts.models import (
    ConsentEvent,
    ConsentSource,
    ConsentState,
    Contact,
    ContactIdentity,
    IdentityKind,
    Suppression,
)
from apps.conversations.models import (
    Attachment,
    AttachmentStatus,
    Channel,
    ChannelKind,
    Conversation,
    Message,
    MessageDirection,
    MessageKind,
)
from apps.conversations.policy import send_policy_check
from apps.core.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_seed
from apps.merchants.models import Merchant
from apps.tickets.models import SlaEvent, Ticket, TicketStatus
from apps.tickets.services.sla import sla_badges

pytestmark = pytest.mark.django_db
# Measured at 135 on SQLite: about 40 bulk inserts and updates (1000-row batches), the service calls for
# the merchant's members, three channels, three templates, three segments and three campaigns (with their
# savepoints: 28 queries), and the one erasure with its hooks and sweeps (about 25). Every demo row written
# one at a time would be over 2,000; a headroom of 10 % lets a seeder gain a row without hiding a loop.
FIRST_SEED_MAX_QUERIES = 150
# Measured at 13: the merchant, the three users and memberships, and one "already seeded?" probe per app.
SECOND_SEED_MAX_QUERIES = 13


@pytest.fixture(scope="module")
def first_seed_queries(django_db_setup, django_db_blocker) -> Iterator[int]:
    """The demo, seeded once for the module (seconds of work) inside a transaction rolled back after its
    last test. Each test runs in a savepoint within it (pytest-django's `db`), so what one test writes is
    gone before the next; the seed itself is what every test reads."""
    with django_db_blocker.unblock(), transaction.atomic():
        with CaptureQueriesContext(connection) as seeding:
            demo_seed()
        yield len(seeding)
        transaction.set_rollback(True)


@pytest.fixture
def shop(first_seed_queries) -> Merchant:
    return Merchant.objects.get(slug=DEMO_SLUG)


def test_the_first_seed_is_set_based(first_seed_queries):
    assert first_seed_queries <= FIRST_SEED_MAX_QUERIES


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in ("merchants", "accounts", "contacts", "conversations", "tickets", "campaigns")
        for model in apps.get_app_config(app).get_models()
    }


def test_the_shop_is_spanish_with_three_channels_two_of_them_sandboxed(shop):
    assert (shop.name, shop.slug, shop.timezone, shop.locale) == ("Tienda Sol", "demo", "Europe/Madrid", "es")
    channels = {c.kind: c for c in Channel.objects.for_merchant(shop)}
    assert sorted(channels) == ["messenger", "webchat", "whatsapp"]
    whatsapp, messenger, webchat = (channels[k] for k in ("whatsapp", "messenger", "webchat"))
    assert (whatsapp.phone_number_id, messenger.page_id) == ("100000000000001", "100000000000002")
    for channel in (whatsapp, messenger):
        assert channel.settings == {"sandbox": True}
        assert channel.access_token == "sandbox"
        assert len(channel.app_secret) == 32 and channel.verify_token
    assert webchat.settings == {"demo_shop": True}  # /demo-shop/ opens it
    assert "{0.scheme}://{0.netloc}".format(urlsplit(settings.PUBLIC_BASE_URL)) in webchat.allowed_origins


def test_contacts_are_200_people_with_phones_identities_and_attributes(shop):
    contacts = list(Contact.objects.for_merchant(shop).filter(erased_at=None))
    assert len(contacts) == 199
    assert all(c.phone.startswith("+346") and len(c.phone) == 12 for c in contacts)
    assert len({c.phone for c in contacts}) == 199
    assert all(" " in c.name and c.locale == "es" and "cliente" in c.tags for c in contacts)
    assert {"city", "plan", "orders"} == set().union(*(c.attributes for c in contacts))
    assert sum(1 for c in contacts if c.email) == 124
    assert Counter(c.timezone for c in contacts)[""] == 130  # the rest live in the Canaries or the Americas
    kinds = Counter(ContactIdentity.objects.for_merchant(shop).values_list("kind", flat=True))
    assert kinds == {IdentityKind.WHATSAPP: 199, IdentityKind.WEBCHAT: 44, IdentityKind.MESSENGER: 43}


def test_consent_histories_follow_the_ledger_with_exactly_one_pending_double_opt_in(shop):
    states = Counter(ConsentState.objects.for_merchant(shop).values_list("channel", "status"))
    assert states == {
        ("whatsapp", "granted"): 131, ("whatsapp", "revoked"): 11, ("whatsapp", "pending"): 1,
        ("webchat", "granted"): 25, ("email", "granted"): 33,
    }  # fmt: skip
    sources = Counter(ConsentEvent.objects.for_merchant(shop).values_list("source", "action"))
    assert sources == {
        (ConsentSource.WEB_FORM, "grant"): 131, (ConsentSource.IMPORT, "grant"): 45,
        (ConsentSource.WIDGET, "grant"): 25, (ConsentSource.KEYWORD, "revoke"): 11,
    }  # fmt: skip
    for state in ConsentState.objects.for_merchant(shop).select_related("last_event"):
        newest = ConsentEvent.objects.filter(contact=state.contact_id, channel=state.channel).order_by("occurred_at")
        assert state.last_event == newest.last()
        assert state.status == state.last_event.resulting_status
        assert state.since == state.last_event.occurred_at


def test_one_contact_was_erased_by_the_erase_service(shop):
    erased = Contact.objects.for_merchant(shop).get(erased_at__isnull=False)
    assert (erased.name, erased.phone, erased.email, erased.tags, erased.attributes) == ("", "", "", [], {})
    assert not ContactIdentity.objects.filter(contact=erased).exists()
    assert sorted(Suppression.objects.for_merchant(shop).values_list("kind", flat=True)) in (
        ["email", "phone"],
        ["email", "messenger", "phone"],
        ["phone"],
    )
    events = ConsentEvent.objects.filter(contact=erased)
    assert events.count() == 1
    assert [(e.ip_address, e.user_agent, e.evidence_url) for e in events] == [(None, "", "")]


def test_forty_conversations_in_every_status_with_notes_labels_and_a_file(shop):
    conversations = Conversation.objects.for_merchant(shop)
    assert Counter(conversations.values_list("status", flat=True)) == {
        "open": 14, "pending": 8, "snoozed": 6, "resolved": 12,
    }  # fmt: skip
    assert Counter(conversations.values_list("channel__kind", flat=True)) == {
        "whatsapp": 20, "webchat": 12, "messenger": 8,
    }  # fmt: skip
    assert conversations.filter(status="snoozed", snoozed_until__gt=timezone.now()).count() == 6
    assert conversations.filter(status="resolved", resolved_at__isnull=False).count() == 12
    assert conversations.exclude(labels=[]).count() == 28
    messages = Message.objects.for_merchant(shop)
    assert Counter(messages.values_list("kind", "direction")) == {
        (MessageKind.TEXT, MessageDirection.INBOUND): 69, (MessageKind.TEXT, MessageDirection.OUTBOUND): 52,
        (MessageKind.NOTE, MessageDirection.OUTBOUND): 10, (MessageKind.MEDIA, MessageDirection.INBOUND): 1,
    }  # fmt: skip
    attachment = Attachment.objects.for_merchant(shop).get()
    assert (attachment.status, attachment.mime_type, attachment.filename) == (AttachmentStatus.STORED, "image/png",
                                                                             "paquete.png")  # fmt: skip
    with attachment.file.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert attachment.message.attachments[0]["attachment_id"] == attachment.pk


def test_one_open_whatsapp_conversation_is_outside_the_24_hour_window(shop):
    now = timezone.now()
    open_whatsapp = Conversation.objects.for_merchant(shop).filter(channel__kind=ChannelKind.WHATSAPP, status="open")
    codes = Counter(
        send_policy_check(conversation=c, now=now, is_template=False, automated=False, human_agent=True).code
        for c in open_whatsapp.select_related("channel")
    )
    assert codes == {"allowed": 7, "outside_service_window": 1}
    closed = [c for c in open_whatsapp if c.last_inbound_at < now - timedelta(hours=24)]
    assert len(closed) == 1
    assert closed[0].last_inbound_at < now - timedelta(days=3)


def test_tickets_in_every_state_with_slas_met_at_risk_and_breached_and_csat(shop):
    now = timezone.now()
    tickets = list(Ticket.objects.for_merchant(shop).select_related("sla_policy").order_by("number"))
    assert [t.number for t in tickets] == list(range(1, 19))
    assert Counter(t.status for t in tickets) == {
        TicketStatus.NEW: 3, TicketStatus.OPEN: 4, TicketStatus.PENDING: 2, TicketStatus.ON_HOLD: 2,
        TicketStatus.SOLVED: 3, TicketStatus.CLOSED: 4,
    }  # fmt: skip
    first = Counter(next(b["state"] for b in sla_badges(ticket=t, now=now) if b["metric"] == "first_response")
                    for t in tickets)  # fmt: skip
    assert first == {"met": 13, "breached": 2, "due": 3}
    at_risk = [t for t in tickets if t.first_response_due_at and now < t.first_response_due_at
               <= now + timedelta(minutes=t.sla_policy.warn_before_minutes)]  # fmt: skip
    assert len(at_risk) == 2
    assert sum(t.resolution_breached for t in tickets) == 2
    assert Counter(SlaEvent.objects.for_merchant(shop).values_list("kind", flat=True)) == {"warning": 4, "breach": 4}
    ratings = sorted(t.csat_rating for t in tickets if t.csat_rating)
    assert ratings == [2, 3, 4, 4, 5, 5]
    assert sum(1 for t in tickets if t.csat_sent_at and not t.csat_answered_at) == 1


def test_templates_segments_and_campaigns(shop):
    templates = {t.name: t for t in MessageTemplate.objects.for_merchant(shop)}
    assert {name: t.status for name, t in templates.items()} == {
        "rebajas_sol": TemplateStatus.APPROVED, "pedido_enviado": TemplateStatus.APPROVED,
        "coleccion_invierno": TemplateStatus.PENDING,
    }  # fmt: skip
    promo = templates["rebajas_sol"]
    assert (promo.header_media_type, promo.variables) == ("image", ["nombre", "codigo"])
    assert promo.buttons[-1] == {"text": "Stop promotions", "payload": "STOP_PROMOTIONS"}
    segments = list(Segment.objects.for_merchant(shop))
    assert len(segments) == 3
    assert all(segment.rules == rules_clean(segment.rules) for segment in segments)
    campaigns = {c.status: c for c in Campaign.objects.for_merchant(shop)}
    assert sorted(campaigns) == ["completed", "draft", "scheduled"]
    scheduled = campaigns[CampaignStatus.SCHEDULED].scheduled_at.astimezone(shop.tz)
    assert scheduled > timezone.now() and (scheduled.hour, scheduled.minute) == (10, 0)
    assert not Delivery.objects.filter(campaign__status__in=["draft", "scheduled"]).exists()


def test_the_completed_campaign_has_every_outcome(shop):
    campaign = Campaign.objects.for_merchant(shop).get(status=CampaignStatus.COMPLETED)
    results = campaign_results(campaign=campaign)
    assert results["states"] == {
        "pending": 0, "claimed": 0, "sent": 10, "delivered": 28, "read": 86, "failed": 6, "skipped": 69, "unknown": 0,
    }  # fmt: skip
    assert results["skipped"] == {"no_consent": 58, "revoked": 6, "marketing_limit": 5}
    assert results["failed"] == {"131026": 6}
    assert (results["replied"], results["opted_out"]) == (10, 5)
    assert campaign.audience_size == results["audience"] == 199


def test_history_spreads_over_the_last_30_days_and_nothing_is_in_the_future(shop):
    now = timezone.now()
    created = list(Contact.objects.for_merchant(shop).values_list("created_at", flat=True))
    assert now - timedelta(days=30) <= min(created) < now - timedelta(days=25)
    assert max(created) < now - timedelta(hours=23)
    sent = Message.objects.for_merchant(shop).values_list("created_at", flat=True)
    assert min(sent) < now - timedelta(days=20) and max(sent) <= now
    for field in ("created_at", "solved_at", "closed_at", "csat_answered_at"):
        values = [v for v in Ticket.objects.for_merchant(shop).values_list(field, flat=True) if v]
        assert max(values) <= now, field
    assert max(Delivery.objects.exclude(read_at=None).values_list("read_at", flat=True)) <= now


def test_a_second_seed_changes_nothing_in_a_few_queries(shop, django_assert_max_num_queries):
    before = _row_counts()
    with django_assert_max_num_queries(SECOND_SEED_MAX_QUERIES):
        demo_seed()
    assert _row_counts() == before


def test_the_seeded_screens_open_for_the_demo_admin(shop, client):
    assert client.login(username=DEMO_USERS["admin"], password=DEMO_PASSWORD)
    erased = Contact.objects.for_merchant(shop).get(erased_at__isnull=False)
    attachment = Attachment.objects.for_merchant(shop).get()
    paths = ["/", "/inbox/", "/inbox/channels/", "/tickets/", "/campaigns/", "/contacts/", f"/contacts/{erased.pk}/"]
    paths += ["/reports/", "/reports/csat/", "/reports/sla/", "/reports/agents/", "/reports/consent/"]
    paths += [f"/inbox/c/{pk}/" for pk in Conversation.objects.for_merchant(shop).values_list("pk", flat=True)[:5]]
    paths += [f"/campaigns/{pk}/" for pk in Campaign.objects.for_merchant(shop).values_list("pk", flat=True)]
    paths += [f"/tickets/{pk}/" for pk in Ticket.objects.for_merchant(shop).values_list("pk", flat=True)[:5]]
    paths.append(f"/inbox/attachments/{attachment.pk}/")
    assert {path: client.get(path).status_code for path in paths} == dict.fromkeys(paths, 200)


def test_the_demo_month_gives_the_reports_something_to_show(shop):
    from apps.reports import selectors
    from apps.reports.ranges import range_parse

    period = range_parse(params={}, tz=shop.tz, required=False)
    conversations = selectors.conversation_report(merchant=shop, period=period)
    assert conversations["started"] > 0 and conversations["resolved"] > 0
    assert conversations["first_response_seconds"]["count"] > 0
    assert conversations["resolution_seconds"]["count"] == conversations["resolved"]
    assert selectors.csat_report(merchant=shop, period=period)["answered"] > 0
    assert selectors.consent_report(merchant=shop, period=period)["grants"] > 0
