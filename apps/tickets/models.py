"""Tickets, their timeline, SLA policies and business hours, teams, macros, saved filters.

Ticket numbers are per merchant (`#1042`) and come from a counter row per merchant bumped with
UPDATE … RETURNING in the creating transaction, so two agents never get the same number.
SLA due times are denormalised on the ticket (indexed) so queues and the beat task filter on them
in SQL; the clock arithmetic itself lives in `clock.py`.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.tenancy import MerchantOwned
from apps.merchants.models import validate_timezone
from apps.tickets import clock


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


ACTIVE_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN)  # SLA clocks run
PAUSED_STATUSES = (TicketStatus.PENDING, TicketStatus.ON_HOLD, TicketStatus.SOLVED, TicketStatus.CLOSED)
UNSOLVED_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_ORDER = [TicketPriority.LOW, TicketPriority.NORMAL, TicketPriority.HIGH, TicketPriority.URGENT]


class SlaMetric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class SlaEventKind(models.TextChoices):
    WARNING = "warning", "Warning"
    BREACH = "breach", "Breach"


# ------------------------------------------------------------------ teams
class Team(MerchantOwned):
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="TeamMember", related_name="ticket_teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["merchant", "name"], name="ticket_team_unique_name")]

    def __str__(self) -> str:
        return self.name


class TeamMember(MerchantOwned):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("team",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="ticket_team_member_unique")]


# ------------------------------------------------------------------ business hours
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def validate_periods(value) -> None:
    """[{"weekday": 0, "start": "09:00", "end": "13:00"}, ...] — several periods a day allowed."""
    if not isinstance(value, list):
        raise ValidationError("Give a list of periods.")
    week: dict[int, list[tuple[int, int]]] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"weekday", "start", "end"}:
            raise ValidationError(f"Period {index + 1}: give exactly weekday, start and end.")
        weekday = item["weekday"]
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise ValidationError(f"Period {index + 1}: weekday must be 0 (Monday) to 6 (Sunday).")
        try:
            start, end = clock.parse_hhmm(str(item["start"])), clock.parse_hhmm(str(item["end"]))
        except ValueError as exc:
            raise ValidationError(f"Period {index + 1}: {exc}") from None
        if start >= end:
            raise ValidationError(f"Period {index + 1}: the end must be after the start.")
        week.setdefault(weekday, []).append((start, end))
    for weekday, periods in week.items():
        periods.sort()
        for (_, previous_end), (start, _) in pairwise(periods):
            if start < previous_end:
                raise ValidationError(f"{WEEKDAY_NAMES[weekday]}: periods overlap.")


def validate_holidays(value) -> None:
    """["2026-12-25", ...] as ISO dates in the business hours' own time zone."""
    if not isinstance(value, list):
        raise ValidationError("Give a list of dates.")
    for item in value:
        try:
            date.fromisoformat(str(item))
        except ValueError:
            raise ValidationError(f"“{item}” is not a date like 2026-12-25.") from None


class BusinessHours(MerchantOwned):
    name = models.CharField(max_length=80)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    periods = models.JSONField(default=list, validators=[validate_periods])
    holidays = models.JSONField(default=list, blank=True, validators=[validate_holidays])
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "business hours"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="business_hours_unique_name"),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_default=True), name="business_hours_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def schedule(self) -> clock.Schedule:
        week: dict[int, list[tuple[int, int]]] = {}
        for item in self.periods:
            week.setdefault(item["weekday"], []).append(
                (clock.parse_hhmm(item["start"]), clock.parse_hhmm(item["end"]))
            )
        return clock.Schedule(
            tz=ZoneInfo(self.timezone),
            week={day: tuple(sorted(periods)) for day, periods in week.items()},
            holidays=frozenset(date.fromisoformat(d) for d in self.holidays),
        )


# ------------------------------------------------------------------ SLA policies
class SlaPolicy(MerchantOwned):
    """Targets in business minutes; the most specific active policy for a ticket wins (see services.sla)."""

    name = models.CharField(max_length=80)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices)
    tag = models.CharField(max_length=50, blank=True)  # "" = any tag
    channel_kind = models.CharField(max_length=20, blank=True)  # "" = any channel (webchat|whatsapp|messenger)
    business_hours = models.ForeignKey(
        BusinessHours, on_delete=models.SET_NULL, null=True, blank=True, related_name="policies"
    )
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    warn_before_minutes = models.PositiveIntegerField(default=15)
    escalate_raise_priority = models.BooleanField(default=False)
    escalate_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("business_hours", "escalate_team")

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [models.UniqueConstraint(fields=["merchant", "name"], name="sla_policy_unique_name")]

    def __str__(self) -> str:
        return self.name

    def target_seconds(self) -> dict[str, int]:
        minutes = {
            SlaMetric.FIRST_RESPONSE: self.first_response_minutes,
            SlaMetric.NEXT_RESPONSE: self.next_response_minutes,
            SlaMetric.RESOLUTION: self.resolution_minutes,
        }
        return {str(metric): value * 60 for metric, value in minutes.items() if value}


# ------------------------------------------------------------------ tickets
class TicketCounter(models.Model):
    """The last ticket number handed out per merchant."""

    merchant = models.OneToOneField("merchants.Merchant", on_delete=models.CASCADE, primary_key=True, related_name="+")
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.merchant_id}: {self.value}"


class Ticket(MerchantOwned):
    number = models.PositiveBigIntegerField()
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    conversations = models.ManyToManyField(
        "conversations.Conversation", through="TicketConversation", related_name="tickets", blank=True
    )
    status = models.CharField(max_length=10, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    tags = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # a due date the agent sets by hand
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged")

    # SLA state (see services/sla.py for the semantics).
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sla_targets = models.JSONField(default=dict, blank=True)  # {metric: seconds} of the policy when applied
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_remaining = models.JSONField(default=dict, blank=True)  # {metric: {"seconds": n, "due": iso}} while paused
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_agent_reply_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)  # newest inbound seen on links
    awaiting_reply_since = models.DateTimeField(null=True, blank=True)  # customer message a reply is owed to
    next_response_cycle = models.PositiveIntegerField(default=0)
    first_response_breached = models.BooleanField(default=False)
    next_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)

    # CSAT: first answer is stored, changes allowed for 7 days after it (see README, CSAT).
    csat_sent_at = models.DateTimeField(null=True, blank=True)
    csat_sent_via = models.CharField(max_length=20, blank=True)  # conversation | email | link
    csat_note = models.CharField(max_length=200, blank=True)  # why a fallback was used
    csat_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_comment = models.TextField(blank=True)
    csat_answered_at = models.DateTimeField(null=True, blank=True)
    csat_updated_at = models.DateTimeField(null=True, blank=True)

    same_merchant_fields = ("contact", "team", "sla_policy", "merged_into")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "number"], name="ticket_unique_number"),
            models.CheckConstraint(
                condition=Q(csat_rating__isnull=True) | Q(csat_rating__gte=1, csat_rating__lte=5),
                name="ticket_csat_rating_range",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="ticket_merchant_id"),
            models.Index(fields=["merchant", "status", "-id"], name="ticket_merchant_status"),
            models.Index(fields=["merchant", "assignee", "status", "-id"], name="ticket_assignee"),
            models.Index(fields=["merchant", "team", "status", "-id"], name="ticket_team"),
            models.Index(fields=["contact", "-id"], name="ticket_contact"),
            # Partial: only running clocks are indexed (the beat task and the breaching queue read these).
            models.Index(
                fields=["first_response_due_at"],
                name="ticket_frt_due",
                condition=Q(first_response_due_at__isnull=False),
            ),
            models.Index(
                fields=["next_response_due_at"], name="ticket_nrt_due", condition=Q(next_response_due_at__isnull=False)
            ),
            models.Index(
                fields=["resolution_due_at"], name="ticket_res_due", condition=Q(resolution_due_at__isnull=False)
            ),
            models.Index(fields=["status", "solved_at"], name="ticket_solved_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def display_number(self) -> str:
        return f"#{self.number}"

    @property
    def is_paused(self) -> bool:
        return self.sla_paused_at is not None


class TicketConversation(MerchantOwned):
    """A conversation linked to a ticket; the first linked one is the ticket's `conversation`."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField(default=timezone.now)

    same_merchant_fields = ("ticket", "conversation")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "conversation"], name="ticket_conversation_unique")]
        indexes = [models.Index(fields=["conversation"], name="ticket_conversation_conv")]


class TicketComment(MerchantOwned):
    """A public reply (sent to the customer) or an internal note."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    is_public = models.BooleanField(default=False)
    body = models.TextField()
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    same_merchant_fields = ("ticket", "conversation", "message")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_comment_ticket")]


class TicketEventKind(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Field changed"
    COMMENTED = "commented", "Internal comment"
    REPLIED = "replied", "Public reply"
    LINKED = "linked", "Conversation linked"
    MERGED = "merged", "Merged"
    MERGED_FROM = "merged_from", "Another ticket merged in"
    SLA_WARNING = "sla_warning", "SLA warning"
    SLA_BREACH = "sla_breach", "SLA breach"
    SLA_MET = "sla_met", "SLA met"
    CSAT_SENT = "csat_sent", "CSAT survey sent"
    CSAT_ANSWERED = "csat_answered", "CSAT answered"
    MACRO = "macro", "Macro applied"


class TicketEvent(MerchantOwned):
    """The ticket's timeline. Append-only: rows are never updated or deleted by the app."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)  # "System", "API key abc", "Macro Refund"
    kind = models.CharField(max_length=20, choices=TicketEventKind.choices)
    field = models.CharField(max_length=40, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    same_merchant_fields = ("ticket",)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ticket", "id"], name="ticket_event_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} on ticket {self.ticket_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Ticket events are append-only.")
        super().save(*args, **kwargs)

    def describe(self) -> str:
        """One human sentence for the timeline (the actor is shown beside it)."""
        data = self.data or {}
        metric = SlaMetric(self.field).label.lower() if self.field in SlaMetric.values else self.field
        answer = self.new_value if isinstance(self.new_value, dict) else {}
        sentences = {
            TicketEventKind.CREATED: lambda: "created the ticket",
            TicketEventKind.CHANGED: lambda: (
                f"changed {self.field.replace('_', ' ')} from {self._label('old')} to {self._label('new')}"
            ),
            TicketEventKind.LINKED: lambda: f"linked conversation #{self.new_value}",
            TicketEventKind.MERGED: lambda: f"merged this ticket into #{data.get('into_number')}",
            TicketEventKind.MERGED_FROM: lambda: f"merged ticket #{data.get('from_number')} into this one",
            TicketEventKind.SLA_WARNING: lambda: f"{metric} SLA is about to breach",
            TicketEventKind.SLA_BREACH: lambda: f"{metric} SLA breached",
            TicketEventKind.SLA_MET: lambda: f"{metric} SLA met" + ("" if data.get("on_time", True) else " (late)"),
            TicketEventKind.CSAT_SENT: lambda: f"satisfaction survey sent ({self.new_value or 'not sent'})",
            TicketEventKind.CSAT_ANSWERED: lambda: f"customer rated {answer.get('rating')}/5",
        }
        sentence = sentences.get(self.kind)
        return sentence() if sentence else self.get_kind_display()

    def _label(self, which: str) -> str:
        data = self.data or {}
        if f"{which}_label" in data:
            return str(data[f"{which}_label"]) or "none"
        value = self.old_value if which == "old" else self.new_value
        choices = {"status": TicketStatus, "priority": TicketPriority}.get(self.field)
        if choices is not None and value in choices.values:
            return str(choices(value).label)
        if isinstance(value, list):
            return ", ".join(map(str, value)) or "none"
        return "none" if value in (None, "") else str(value)


class SlaEvent(MerchantOwned):
    """A warning or breach, recorded once per (ticket, metric, cycle, kind) however often the task runs.

    `cycle` is 0 for first response and resolution; next response counts one cycle per customer
    message that started the clock, so each owed reply can warn and breach once.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events")
    metric = models.CharField(max_length=20, choices=SlaMetric.choices)
    kind = models.CharField(max_length=10, choices=SlaEventKind.choices)
    cycle = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    occurred_at = models.DateTimeField(default=timezone.now)

    same_merchant_fields = ("ticket",)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "metric", "cycle", "kind"], name="sla_event_once"),
        ]
        indexes = [models.Index(fields=["merchant", "kind", "occurred_at"], name="sla_event_report")]


# ------------------------------------------------------------------ macros and saved filters
class Macro(MerchantOwned):
    name = models.CharField(max_length=80)
    reply_text = models.TextField(blank=True)  # {{contact.name}}, {{ticket.number}}, ...
    reply_public = models.BooleanField(default=True)  # False: the text becomes an internal comment
    set_status = models.CharField(max_length=10, choices=TicketStatus.choices, blank=True)
    set_priority = models.CharField(max_length=10, choices=TicketPriority.choices, blank=True)
    add_tags = models.JSONField(default=list, blank=True)
    remove_tags = models.JSONField(default=list, blank=True)
    set_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    set_team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    same_merchant_fields = ("set_team",)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["merchant", "name"], name="macro_unique_name")]

    def __str__(self) -> str:
        return self.name


class SavedFilter(MerchantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    params = models.JSONField(default=dict)  # the list view's query parameters
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["merchant", "user", "name"], name="saved_filter_unique")]

    def __str__(self) -> str:
        return self.name
