"""Writes for tickets. Import from here: `from apps.tickets.services import ticket_create`."""

from apps.tickets.services.comments import ticket_comment_add
from apps.tickets.services.config import (
    business_hours_delete,
    business_hours_save,
    saved_filter_delete,
    saved_filter_save,
    sla_policy_delete,
    sla_policy_save,
    team_delete,
    team_save,
    team_set_members,
)
from apps.tickets.services.csat import csat_answer, csat_request, csat_ticket_for_token, csat_url
from apps.tickets.services.macros import macro_apply, macro_delete, macro_render, macro_save, macro_validate
from apps.tickets.services.sla_check import sla_check, ticket_customer_replied, ticket_customer_sync
from apps.tickets.services.tickets import (
    TicketRefused,
    ticket_create,
    ticket_create_from_conversation,
    ticket_link_conversation,
    ticket_merge,
    ticket_update,
    tickets_autoclose,
)
from apps.tickets.services.timeline import Actor

__all__ = [
    "Actor",
    "TicketRefused",
    "business_hours_delete",
    "business_hours_save",
    "csat_answer",
    "csat_request",
    "csat_ticket_for_token",
    "csat_url",
    "macro_apply",
    "macro_delete",
    "macro_render",
    "macro_save",
    "macro_validate",
    "saved_filter_delete",
    "saved_filter_save",
    "sla_check",
    "sla_policy_delete",
    "sla_policy_save",
    "team_delete",
    "team_save",
    "team_set_members",
    "ticket_comment_add",
    "ticket_create",
    "ticket_create_from_conversation",
    "ticket_customer_replied",
    "ticket_customer_sync",
    "ticket_link_conversation",
    "ticket_merge",
    "ticket_update",
    "tickets_autoclose",
]
