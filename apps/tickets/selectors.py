"""Reads for tickets. Each selector owns its joins so every caller gets the same query count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain

from django.core.exceptions import ValidationError
from django.db.models import Avg, Case, Count, DateTimeField, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from apps.core import inputs
from apps.merchants.selectors import members_who_can
from apps.tickets.models import (
    ACTIVE_STATUSES,
    UNSOLVED_STATUSES,
    BusinessHours,
    Macro,
    SavedFilter,
    SlaEvent,
    SlaPolicy,
    Team,
    TeamMember,
    Ticket,
    TicketComment,
    TicketConversation,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)

BREACHING_SOON = timedelta(hours=1)
QUEUES = ("mine", "unassigned", "team", "breaching", "all")
SORTS = {
    "newest": ("-id",),
    "oldest": ("id",),
    "priority": ("-priority_rank", "-id"),
    "due": ("next_due", "id"),
    "updated": ("-updated_at", "-id"),
}
DUE_FIELDS = ("first_response_due_at", "next_response_due_at", "resolution_due_at")


def _first_conversation():
    return Subquery(
        TicketConversation.objects.filter(ticket=OuterRef("pk")).order_by("id").values("conversation_id")[:1]
    )


def _priority_rank():
    ranks = {TicketPriority.LOW: 0, TicketPriority.NORMAL: 1, TicketPriority.HIGH: 2, TicketPriority.URGENT: 3}
    return Case(*(When(priority=p, then=Value(r)) for p, r in ranks.items()), output_field=IntegerField())


def _next_due():
    # Least() skips NULLs on PostgreSQL but not on SQLite: a far-future stand-in keeps both the same.
    sentinel = Value(datetime(9999, 12, 31, tzinfo=UTC), output_field=DateTimeField())
    return Least(*(Coalesce(field, sentinel) for field in DUE_FIELDS))


def ticket_queryset(*, merchant) -> QuerySet[Ticket]:
    return (
        Ticket.objects.for_merchant(merchant)
        .select_related("contact", "assignee", "team", "sla_policy")
        .annotate(conversation_id=_first_conversation())
    )


@dataclass
class TicketFilters:
    queue: str = "all"
    status: str = ""
    priority: str = ""
    team: int | None = None
    assignee: int | None = None
    contact: int | None = None
    tag: str = ""
    q: str = ""
    sort: str = "newest"


def _int_or_none(name: str, value) -> int | None:
    if value in (None, ""):
        return None
    number = inputs.ascii_int(value)
    if number is None:
        raise ValidationError({name: "Give a whole number."})
    return number


def parse_filters(params) -> TicketFilters:
    """Query parameters -> filters; a bad value is a ValidationError naming the parameter."""
    filters = TicketFilters(
        queue=params.get("queue") or "all",
        status=params.get("status") or "",
        priority=params.get("priority") or "",
        team=_int_or_none("team", params.get("team")),
        assignee=_int_or_none("assignee", params.get("assignee")),
        contact=_int_or_none("contact", params.get("contact")),
        tag=(params.get("tag") or "").strip(),
        q=(params.get("q") or "").strip()[:200],
        sort=params.get("sort") or "newest",
    )
    if filters.queue not in QUEUES:
        raise ValidationError({"queue": f"Choose one of: {', '.join(QUEUES)}."})
    if filters.status and filters.status not in [*TicketStatus.values, "unsolved"]:
        raise ValidationError({"status": f"Choose one of: {', '.join([*TicketStatus.values, 'unsolved'])}."})
    if filters.priority and filters.priority not in TicketPriority.values:
        raise ValidationError({"priority": f"Choose one of: {', '.join(TicketPriority.values)}."})
    if filters.sort not in SORTS:
        raise ValidationError({"sort": f"Choose one of: {', '.join(SORTS)}."})
    return filters


def ticket_list(*, merchant, user=None, filters: TicketFilters | None = None, now=None) -> QuerySet[Ticket]:
    filters = filters or TicketFilters()
    now = now or timezone.now()
    qs = ticket_queryset(merchant=merchant)
    qs = _queue(qs, filters, user, now)
    if filters.status == "unsolved":
        qs = qs.filter(status__in=UNSOLVED_STATUSES)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    if filters.assignee is not None:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.contact is not None:
        qs = qs.filter(contact_id=filters.contact)
    if filters.tag:
        qs = (
            qs.filter(tags__contains=[filters.tag])
            if _json_contains_supported()
            else qs.filter(tags__icontains=f'"{filters.tag}"')
        )
    if filters.q:
        query = Q(subject__icontains=filters.q) | Q(contact__name__icontains=filters.q)
        number = inputs.ascii_int(filters.q.lstrip("#"))
        if number is not None:
            query |= Q(number=number)
        qs = qs.filter(query)
    return qs.annotate(priority_rank=_priority_rank(), next_due=_next_due()).order_by(*SORTS[filters.sort])


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _queue(qs: QuerySet[Ticket], filters: TicketFilters, user, now) -> QuerySet[Ticket]:
    if filters.queue == "mine":
        return qs.filter(assignee=user, status__in=UNSOLVED_STATUSES) if user else qs.none()
    if filters.queue == "unassigned":
        return qs.filter(assignee__isnull=True, status__in=UNSOLVED_STATUSES)
    if filters.queue == "team":
        return qs.filter(team__isnull=False, status__in=UNSOLVED_STATUSES)
    if filters.queue == "breaching":
        return qs.filter(status__in=ACTIVE_STATUSES).filter(breaching_q(now))
    return qs


def breaching_q(now: datetime, within: timedelta = BREACHING_SOON) -> Q:
    """Due within `within` from now, or already overdue."""
    soon = now + within
    return Q(first_response_due_at__lte=soon) | Q(next_response_due_at__lte=soon) | Q(resolution_due_at__lte=soon)


def queue_counts(*, merchant, user, now=None) -> dict[str, int]:
    """All queue sizes in one query."""
    now = now or timezone.now()
    unsolved = Q(status__in=UNSOLVED_STATUSES)
    return Ticket.objects.for_merchant(merchant).aggregate(
        mine=Count("pk", filter=unsolved & Q(assignee=user)),
        unassigned=Count("pk", filter=unsolved & Q(assignee__isnull=True)),
        team=Count("pk", filter=unsolved & Q(team__isnull=False)),
        breaching=Count("pk", filter=Q(status__in=ACTIVE_STATUSES) & breaching_q(now)),
        all=Count("pk"),
    )


def ticket_detail(*, merchant, pk) -> Ticket:
    from apps.core.tenancy import access_object

    return access_object(Ticket, merchant=merchant, pk=pk, queryset=ticket_queryset(merchant=merchant))


def ticket_timeline(*, ticket: Ticket) -> list:
    """Events and comments in time order (comments carry their text; events the changes)."""
    # Reply/comment events are shown through the comment itself.
    events = (
        TicketEvent.objects.filter(ticket=ticket)
        .exclude(kind__in=[TicketEventKind.REPLIED, TicketEventKind.COMMENTED])
        .select_related("actor")
    )
    comments = TicketComment.objects.filter(ticket=ticket).select_related("author", "message")
    return sorted(chain(events, comments), key=lambda item: (item.created_at, item.pk))


def ticket_comments(*, merchant, ticket_id: int) -> QuerySet[TicketComment]:
    return TicketComment.objects.for_merchant(merchant).filter(ticket_id=ticket_id).select_related("author", "message")


def ticket_events(*, merchant, ticket_id: int) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.for_merchant(merchant).filter(ticket_id=ticket_id).select_related("actor")


def ticket_conversation_ids(*, ticket: Ticket) -> list[int]:
    return list(
        TicketConversation.objects.filter(ticket=ticket).order_by("id").values_list("conversation_id", flat=True)
    )


def team_list(*, merchant) -> QuerySet[Team]:
    return Team.objects.for_merchant(merchant).prefetch_related("members").order_by("name")


def team_ids_of(*, merchant, user) -> list[int]:
    return list(TeamMember.objects.for_merchant(merchant).filter(user=user).values_list("team_id", flat=True))


def business_hours_list(*, merchant) -> QuerySet[BusinessHours]:
    return BusinessHours.objects.for_merchant(merchant).order_by("name")


def sla_policy_list(*, merchant) -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.for_merchant(merchant).select_related("business_hours", "escalate_team")


def macro_list(*, merchant) -> QuerySet[Macro]:
    return Macro.objects.for_merchant(merchant).select_related("set_assignee", "set_team").order_by("name")


def saved_filters(*, merchant, user) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.for_merchant(merchant).filter(user=user).order_by("name")


def agents(*, merchant) -> list:
    """Members who may work tickets (assignable)."""
    from apps.core.roles import Capability

    return [m.user for m in members_who_can(merchant=merchant, capability=Capability.TICKETS)]


def sla_summary(*, merchant, since: datetime) -> dict:
    """Warnings, breaches (per metric) and CSAT since a moment: two queries, for reports and the dashboard."""
    rows = (
        SlaEvent.objects.for_merchant(merchant)
        .filter(occurred_at__gte=since)
        .values("metric", "kind")
        .annotate(n=Count("pk"))
    )
    counts = {f"{r['metric']}.{r['kind']}": r["n"] for r in rows}
    csat = (
        Ticket.objects.for_merchant(merchant)
        .filter(csat_answered_at__gte=since)
        .aggregate(answers=Count("pk"), average=Avg("csat_rating"))
    )
    return {
        "warnings": sum(n for key, n in counts.items() if key.endswith(".warning")),
        "breaches": sum(n for key, n in counts.items() if key.endswith(".breach")),
        "by_metric": counts,
        "csat_answers": csat["answers"],
        "csat_average": round(csat["average"], 2) if csat["average"] is not None else None,
    }


def dashboard_cards(*, merchant) -> list:
    from django.urls import reverse

    from apps.core.roles import Capability
    from apps.core.selectors import DashboardCard

    now = timezone.now()
    counts = Ticket.objects.for_merchant(merchant).aggregate(
        unsolved=Count("pk", filter=Q(status__in=UNSOLVED_STATUSES)),
        breaching=Count("pk", filter=Q(status__in=ACTIVE_STATUSES) & breaching_q(now)),
    )
    week = sla_summary(merchant=merchant, since=now - timedelta(days=7))
    url = reverse("tickets:list")
    average = "—" if week["csat_average"] is None else f"{week['csat_average']}/5"
    return [
        DashboardCard("Unsolved tickets", str(counts["unsolved"]), f"{url}?status=unsolved", Capability.TICKETS),
        DashboardCard(
            "Tickets about to breach", str(counts["breaching"]), f"{url}?queue=breaching", Capability.TICKETS
        ),
        DashboardCard("SLA breaches (7 days)", str(week["breaches"]), url, Capability.TICKETS),
        DashboardCard("CSAT (7 days)", average, url, Capability.TICKETS),
    ]


REQUESTER_RESULTS = 10


def requester_candidates(*, merchant, q: str = ""):
    """The merchant's live contacts a ticket's requester is picked from (`q`: the contacts list's search)."""
    from apps.contacts.selectors import contact_list

    return contact_list(merchant=merchant, q=q)


def requester_search(*, merchant, q: str) -> list:
    """At most REQUESTER_RESULTS contacts matching `q`; nothing for under two characters (every contact)."""
    q = q.strip()
    if len(q) < 2:
        return []
    return list(requester_candidates(merchant=merchant, q=q)[:REQUESTER_RESULTS])
