"""The demo shop's helpdesk: a team, two SLA policies and tickets in every state, with SLAs met, at risk
and breached, and CSAT answers.

Tickets are inserted in bulk with the SLA fields the clock services would have left (targets of the policy,
due times, met/breach flags) and the timeline events and SLA events that go with them, so the beat's SLA
check finds nothing to correct. No business hours are set: the clocks run round the clock (schedule_for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from apps.contacts.models import Contact
from apps.conversations.models import Conversation, ConversationStatus
from apps.core import demo_data
from apps.core.roles import Role
from apps.merchants.models import Merchant
from apps.tickets.models import (
    SlaEvent,
    SlaEventKind,
    SlaMetric,
    SlaPolicy,
    Team,
    TeamMember,
    Ticket,
    TicketComment,
    TicketConversation,
    TicketCounter,
    TicketEvent,
    TicketEventKind,
    TicketPriority,
    TicketStatus,
)

S = TicketStatus
# (subject, status, priority, SLA story): "breached" / "at_risk" wait for a first reply; "running" was
# answered and its resolution clock runs; "paused" waits on the customer; "solved" met its targets;
# "late" was solved after its resolution target.
TICKETS = (
    ("Pedido 10512 sin entregar", S.NEW, TicketPriority.URGENT, "breached"),
    ("No puedo iniciar sesión en mi cuenta", S.OPEN, TicketPriority.NORMAL, "breached"),
    ("Cobro duplicado en la tarjeta", S.NEW, TicketPriority.URGENT, "at_risk"),
    ("Cambio de dirección de envío", S.OPEN, TicketPriority.NORMAL, "at_risk"),
    ("Consulta sobre tallas de calzado", S.NEW, TicketPriority.LOW, "fresh"),
    ("Producto defectuoso: lámpara Sol", S.OPEN, TicketPriority.HIGH, "running"),
    ("Solicitud de factura con CIF", S.OPEN, TicketPriority.NORMAL, "running"),
    ("Devolución de sandalias", S.PENDING, TicketPriority.NORMAL, "paused"),
    ("Cupón SOL10 no aplicado", S.PENDING, TicketPriority.LOW, "paused"),
    ("Pedido mayorista de 40 unidades", S.ON_HOLD, TicketPriority.HIGH, "paused"),
    ("Reembolso pendiente del pedido 10377", S.ON_HOLD, TicketPriority.NORMAL, "paused"),
    ("Cambio de talla de camiseta", S.SOLVED, TicketPriority.NORMAL, "solved"),
    ("Envío a Canarias", S.SOLVED, TicketPriority.LOW, "solved"),
    ("Error en el importe del pedido", S.SOLVED, TicketPriority.HIGH, "late"),
    ("Horario de la tienda de Sevilla", S.CLOSED, TicketPriority.LOW, "solved"),
    ("Garantía del bolso de rafia", S.CLOSED, TicketPriority.NORMAL, "solved"),
    ("Paquete dañado en el transporte", S.CLOSED, TicketPriority.URGENT, "late"),
    ("Baja de la newsletter", S.CLOSED, TicketPriority.LOW, "solved"),
)
# (rating, comment) for the solved and closed tickets, in order; None: the survey was sent, not answered.
CSAT = ((5, "¡Rapidísimos, gracias!"), (4, ""), (2, "Tardasteis bastante en responder."), (5, "Muy amables."),
        None, (3, "Bien, aunque el paquete llegó tarde."), (4, "Todo correcto."))  # fmt: skip
FIRST_REPLY = timedelta(minutes=25)
_NOTE = "Consultado con almacén; esperamos respuesta del proveedor antes de contestar."


@dataclass
class _Seeded:
    ticket: Ticket
    conversation: Conversation | None
    events: list[TicketEvent]
    sla_events: list[SlaEvent]


def seed_tickets(*, merchant: Merchant, members: dict) -> None:
    if Ticket.objects.for_merchant(merchant).exists():
        return
    now = timezone.now()
    rng = demo_data.demo_rng("tickets")
    agent = members[Role.AGENT].user
    team = _team(merchant, [agent, members[Role.ADMIN].user])
    policies = _policies(merchant)
    seeded = _tickets(merchant, team, policies, agent, rng, now)
    seeded.sort(key=lambda s: s.ticket.created_at)
    for number, item in enumerate(seeded, start=1):
        item.ticket.number = number
    Ticket.objects.bulk_create([s.ticket for s in seeded])
    TicketCounter.objects.create(merchant=merchant, value=len(seeded))
    _rebind_and_insert(merchant, seeded, agent)


def _team(merchant: Merchant, users: list) -> Team:
    team = Team.objects.create(merchant=merchant, name="Atención al cliente", description="Tienda online y tiendas")
    TeamMember.objects.bulk_create([TeamMember(merchant=merchant, team=team, user=user) for user in users])
    return team


def _policies(merchant: Merchant) -> dict[str, SlaPolicy]:
    urgent = SlaPolicy(
        merchant=merchant, name="Urgente", priority=TicketPriority.URGENT, first_response_minutes=30,
        resolution_minutes=8 * 60, warn_before_minutes=15, escalate_raise_priority=False, position=0,
    )  # fmt: skip
    standard = SlaPolicy(
        merchant=merchant, name="Estándar", priority=TicketPriority.NORMAL, first_response_minutes=120,
        resolution_minutes=48 * 60, warn_before_minutes=30, position=1,
    )  # fmt: skip
    SlaPolicy.objects.bulk_create([urgent, standard])
    return {"urgent": urgent, "standard": standard}


def _tickets(merchant, team, policies, agent, rng, now) -> list[_Seeded]:
    contacts = list(Contact.objects.for_merchant(merchant).filter(erased_at=None).values_list("pk", flat=True))
    waiting = {ConversationStatus.PENDING, ConversationStatus.SNOOZED}
    conversations = list(
        Conversation.objects.for_merchant(merchant)
        .filter(status__in=[*waiting, ConversationStatus.RESOLVED])
        .order_by("created_at", "id")  # oldest first: a late solve 2 days after the target is still in the past
    )
    csat = iter(CSAT)
    seeded = []
    for subject, status, priority, story in TICKETS:
        policy = policies["urgent" if priority == TicketPriority.URGENT else "standard"]
        conversation = None
        if story in ("paused", "solved", "late"):
            want = waiting if story == "paused" else {ConversationStatus.RESOLVED}
            conversation = next(c for c in conversations if c.status in want)
            conversations.remove(conversation)
        ticket = Ticket(
            merchant=merchant, subject=subject, status=status, priority=priority, team=team, assignee=agent,
            contact_id=conversation.contact_id if conversation else rng.choice(contacts),
            description=f"{subject}. Abierto desde el chat de la tienda.", tags=["demo"],
            sla_policy=policy, sla_targets=policy.target_seconds(),
        )  # fmt: skip
        item = _Seeded(ticket=ticket, conversation=conversation, events=[], sla_events=[])
        _clock(item, policy, story, rng, now)
        if status in (S.SOLVED, S.CLOSED):
            _csat(item, next(csat))
        seeded.append(item)
    return seeded


def _clock(item: _Seeded, policy: SlaPolicy, story: str, rng, now: datetime) -> None:
    """Created time and SLA fields as the clock services leave them for this story."""
    ticket, first, resolution = item.ticket, timedelta(minutes=policy.first_response_minutes), None
    resolution = timedelta(minutes=policy.resolution_minutes)
    if story == "breached":
        ticket.created_at = now - first - timedelta(hours=3)
    elif story == "at_risk":
        ticket.created_at = now - first + timedelta(minutes=policy.warn_before_minutes // 2)
    elif story in ("fresh", "running"):
        ticket.created_at = now - timedelta(minutes=rng.randint(5, 15 if story == "fresh" else 240))
    elif item.conversation is not None:
        ticket.created_at = item.conversation.created_at + timedelta(minutes=5)
        ticket.last_customer_message_at = item.conversation.last_inbound_at
    created = ticket.created_at
    first_due, resolution_due = created + first, created + resolution
    if story in ("breached", "at_risk", "fresh"):
        ticket.first_response_due_at, ticket.resolution_due_at = first_due, resolution_due
        if story == "breached":
            ticket.first_response_breached = True
            _sla(item, SlaMetric.FIRST_RESPONSE, SlaEventKind.WARNING, first_due, first_due - timedelta(minutes=5))
            _sla(item, SlaMetric.FIRST_RESPONSE, SlaEventKind.BREACH, first_due, first_due + timedelta(seconds=40))
        if story == "at_risk":
            _sla(item, SlaMetric.FIRST_RESPONSE, SlaEventKind.WARNING, first_due, now - timedelta(minutes=1))
        return
    _replied(item, created + FIRST_REPLY, first_due)
    if story == "running":
        ticket.resolution_due_at = resolution_due
    elif story == "paused":
        ticket.sla_paused_at = created + timedelta(hours=1)
        left = int((resolution_due - ticket.sla_paused_at).total_seconds())
        ticket.sla_remaining = {SlaMetric.RESOLUTION.value: {"seconds": left, "due": resolution_due.isoformat()}}
    else:
        _solved(item, resolution_due, late=story == "late")


def _replied(item: _Seeded, at: datetime, due: datetime) -> None:
    item.ticket.first_response_at = item.ticket.last_agent_reply_at = at
    item.events.append(_event(item, TicketEventKind.SLA_MET, at, field=SlaMetric.FIRST_RESPONSE.value,
                              data={"on_time": True, "due_at": due.isoformat(), "met_at": at.isoformat()}))  # fmt: skip


def _solved(item: _Seeded, due: datetime, *, late: bool) -> None:
    ticket = item.ticket
    ticket.solved_at = due + timedelta(hours=5) if late else ticket.created_at + timedelta(hours=3)
    if ticket.status == S.CLOSED:
        ticket.closed_at = ticket.solved_at + timedelta(days=2)
    if late:
        ticket.resolution_breached = True
        _sla(item, SlaMetric.RESOLUTION, SlaEventKind.BREACH, due, due + timedelta(seconds=40))
    data = {"on_time": not late, "due_at": due.isoformat(), "met_at": ticket.solved_at.isoformat()}
    item.events.append(_event(item, TicketEventKind.SLA_MET, ticket.solved_at, field="resolution", data=data))


def _sla(item: _Seeded, metric: str, kind: str, due: datetime, at: datetime) -> None:
    item.sla_events.append(SlaEvent(merchant_id=item.ticket.merchant_id, ticket=item.ticket, metric=metric,
                                    kind=kind, due_at=due, occurred_at=at))  # fmt: skip
    event_kind = TicketEventKind.SLA_BREACH if kind == SlaEventKind.BREACH else TicketEventKind.SLA_WARNING
    item.events.append(_event(item, event_kind, at, field=metric, data={"due_at": due.isoformat()}))


def _csat(item: _Seeded, answer: tuple[int, str] | None) -> None:
    ticket = item.ticket
    ticket.csat_sent_at, ticket.csat_sent_via = ticket.solved_at + timedelta(minutes=1), "conversation"
    item.events.append(_event(item, TicketEventKind.CSAT_SENT, ticket.csat_sent_at, data={"note": ""}))
    if answer is None:
        return
    ticket.csat_rating, ticket.csat_comment = answer
    ticket.csat_answered_at = ticket.csat_updated_at = ticket.csat_sent_at + timedelta(hours=2)
    data = {"rating": ticket.csat_rating, "comment": ticket.csat_comment}
    item.events.append(_event(item, TicketEventKind.CSAT_ANSWERED, ticket.csat_answered_at, data=data))


def _event(item: _Seeded, kind: str, at: datetime, *, field: str = "", data: dict | None = None) -> TicketEvent:
    return TicketEvent(merchant_id=item.ticket.merchant_id, ticket=item.ticket, actor_label="System", kind=kind,
                       field=field, data=data or {}, created_at=at)  # fmt: skip


def _rebind_and_insert(merchant: Merchant, seeded: list[_Seeded], agent) -> None:
    events, sla_events, links, comments = [], [], [], []
    for item in seeded:
        ticket = item.ticket
        created = TicketEvent(merchant=merchant, ticket=ticket, actor=agent, kind=TicketEventKind.CREATED,
                              created_at=ticket.created_at)  # fmt: skip
        events.append(created)
        for row in [*item.events, *item.sla_events]:
            row.ticket = ticket  # re-bind: the ticket's pk exists only now
        events.extend(item.events)
        sla_events.extend(item.sla_events)
        if item.conversation is not None:
            links.append(TicketConversation(merchant=merchant, ticket=ticket, conversation=item.conversation,
                                            linked_at=ticket.created_at))  # fmt: skip
        if ticket.status in (S.ON_HOLD, S.OPEN):
            comments.append(TicketComment(merchant=merchant, ticket=ticket, author=agent, body=_NOTE,
                                          created_at=ticket.created_at + timedelta(minutes=30)))  # fmt: skip
    TicketEvent.objects.bulk_create(sorted(events, key=lambda e: e.created_at))
    SlaEvent.objects.bulk_create(sla_events)
    TicketConversation.objects.bulk_create(links)
    TicketComment.objects.bulk_create(comments)
