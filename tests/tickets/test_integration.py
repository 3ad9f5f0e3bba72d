"""Hooks into other apps (contact privacy, dashboard), the admin, the Celery task wrappers."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from apps.contacts import privacy_hooks
from apps.contacts.redaction import Traces
from apps.tickets import tasks
from apps.tickets.models import SlaEvent, Ticket, TicketComment, TicketEvent
from apps.tickets.services import sla_check, ticket_comment_add, ticket_customer_replied
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ConversationFactory
from tests.factories.tickets import SlaPolicyFactory, make_ticket

pytestmark = pytest.mark.django_db


def test_privacy_export_erase_and_merge(merchant, agent_membership):
    conversation = ConversationFactory(merchant=merchant)
    ticket = make_ticket(merchant, subject="Card 4111", description="my address is X", conversations=[conversation])
    ticket_comment_add(ticket=ticket, body="Sent to your address X", public=True, actor=agent_membership.user)
    contact = conversation.contact
    exported = privacy_hooks.export_sections()["tickets"](contact)
    assert exported[0]["number"] == ticket.number and exported[0]["public_replies"] == ["Sent to your address X"]
    other = ContactFactory(merchant=merchant)
    for hook in privacy_hooks.merge_hooks():
        if hook.__module__ == "apps.tickets.privacy":
            hook(source=contact, target=other)
    assert Ticket.objects.get().contact == other
    for hook in privacy_hooks.erase_hooks():
        if hook.__module__ == "apps.tickets.privacy":
            hook(contact=other, traces=Traces())
    ticket.refresh_from_db()
    assert "address" not in ticket.description and "4111" not in ticket.subject
    assert not TicketComment.objects.filter(body__contains="address").exists()
    assert TicketEvent.objects.filter(ticket=ticket, field="erased").exists()


def test_customer_replied_entry_point(merchant, agent_membership):
    SlaPolicyFactory(merchant=merchant)
    conversation = ConversationFactory(merchant=merchant)
    ticket = make_ticket(merchant, conversations=[conversation])
    ticket_comment_add(ticket=ticket, body="Hi", public=True, actor=agent_membership.user)
    conversation.last_inbound_at = timezone.now()
    conversation.save(update_fields=["last_inbound_at"])
    assert ticket_customer_replied(conversation=conversation) == 1
    ticket.refresh_from_db()
    assert ticket.next_response_due_at is not None and ticket.next_response_cycle == 1
    assert ticket_customer_replied(conversation=conversation) == 0


def test_admin_pages_render(client, merchant):
    admin_user = get_user_model().objects.create_superuser(email="root@example.test", password="x-Very-long-42")
    client.force_login(admin_user)
    ticket = make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)])
    for model in (
        "ticket",
        "ticketevent",
        "slaevent",
        "ticketcomment",
        "team",
        "teammember",
        "businesshours",
        "slapolicy",
        "macro",
        "savedfilter",
        "ticketconversation",
        "ticketcounter",
    ):
        assert client.get(reverse(f"admin:tickets_{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).status_code == 200
    event = TicketEvent.objects.get(ticket=ticket)
    assert client.post(reverse("admin:tickets_ticketevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403


def test_task_wrappers_call_the_services(merchant):
    assert tasks.sla_check() == {"warnings": 0, "breaches": 0, "synced": 0}
    assert tasks.tickets_autoclose() == 0
    assert not SlaEvent.objects.exists()
    assert sla_check()["breaches"] == 0


def test_beat_schedule_is_merged():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["tickets-sla-check"]["schedule"] == 60.0
    assert settings.CELERY_BEAT_SCHEDULE["tickets-autoclose"]["task"] == "apps.tickets.tasks.tickets_autoclose"
