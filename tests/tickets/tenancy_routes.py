"""Every tickets route with path parameters, with a builder creating the owner's object."""

import itertools

from apps.core.roles import Role
from apps.tickets.models import SavedFilter
from tests.factories.conversations import ConversationFactory
from tests.factories.merchants import MembershipFactory
from tests.factories.tickets import BusinessHoursFactory, MacroFactory, SlaPolicyFactory, TeamFactory, make_ticket

SECRET = "SWEEP-SECRET"
_seq = itertools.count()


def _name(kind: str) -> str:
    # Builders run several times per owner; names are unique per merchant.
    return f"{SECRET} {kind} {next(_seq)}"


def _ticket(owner):
    conversation = ConversationFactory(merchant=owner)
    return make_ticket(
        owner, subject=f"{SECRET} ticket", description=SECRET, conversations=[conversation], tags=["sweep-secret"]
    )


def _ticket_id(owner):
    return {"ticket_id": _ticket(owner).pk}


def _saved_filter(owner):
    user = MembershipFactory(merchant=owner, role=Role.AGENT).user
    return {
        "filter_id": SavedFilter.objects.create(
            merchant=owner, user=user, name=_name("filter"), params={"q": SECRET}
        ).pk
    }


def _hours(owner):
    return BusinessHoursFactory(merchant=owner, name=_name("hours"), is_default=False)


ROUTES = {
    "tickets:detail": _ticket_id,
    "tickets:update": _ticket_id,
    "tickets:comment": _ticket_id,
    "tickets:apply_macro": _ticket_id,
    "tickets:merge": _ticket_id,
    "tickets:from_conversation": lambda owner: {"conversation_id": ConversationFactory(merchant=owner).pk},
    "tickets:filter_delete": _saved_filter,
    "tickets:hours_edit": lambda owner: {"pk": _hours(owner).pk},
    "tickets:hours_delete": lambda owner: {"pk": _hours(owner).pk},
    "tickets:policies_edit": lambda owner: {"pk": SlaPolicyFactory(merchant=owner, name=_name("p")).pk},
    "tickets:policies_delete": lambda owner: {"pk": SlaPolicyFactory(merchant=owner, name=_name("q")).pk},
    "tickets:teams_edit": lambda owner: {"pk": TeamFactory(merchant=owner, name=_name("t")).pk},
    "tickets:teams_delete": lambda owner: {"pk": TeamFactory(merchant=owner, name=_name("u")).pk},
    "tickets:macros_edit": lambda owner: {"pk": MacroFactory(merchant=owner, name=_name("m"), reply_text=SECRET).pk},
    "tickets:macros_delete": lambda owner: {"pk": MacroFactory(merchant=owner, name=_name("n")).pk},
    "api:ticket-detail": lambda owner: {"pk": _ticket(owner).pk},
    "api:ticket-merge": lambda owner: {"pk": _ticket(owner).pk},
    "api:ticket-apply-macro": lambda owner: {"pk": _ticket(owner).pk},
    "api:ticket-link": lambda owner: {"pk": _ticket(owner).pk},
    "api:ticket-comment-list": lambda owner: {"ticket_pk": _ticket(owner).pk},
    "api:ticket-event-list": lambda owner: {"ticket_pk": _ticket(owner).pk},
    "api:sla-policy-detail": lambda owner: {"pk": SlaPolicyFactory(merchant=owner, name=_name("r")).pk},
    "api:business-hours-detail": lambda owner: {"pk": _hours(owner).pk},
    "api:team-detail": lambda owner: {"pk": TeamFactory(merchant=owner, name=_name("v")).pk},
}

EXEMPT = {
    "tickets:csat": "public customer survey page, authorised by a signed token naming the ticket and merchant",
}
