"""Report reads: samples gathered set-based from raw rows (a few queries per report, none per row), then
summarised by the one formula of each figure in apps/reports/metrics.py.

The agents report calls the same sample functions and groups the samples by member, so an agent's figure
and the merchant's are the same computation over different subsets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from apps.campaigns.models import Campaign
from apps.campaigns.selectors import campaign_funnel as campaigns_funnel
from apps.campaigns.selectors import campaign_results
from apps.contacts.models import ConsentAction, ConsentChannel, ConsentEvent, ConsentSource, ConsentStatus
from apps.conversations.models import (
    AuthorKind,
    ChannelKind,
    Conversation,
    ConversationLifecycleEvent,
    LifecycleKind,
    Message,
    MessageDirection,
    MessageKind,
)
from apps.core.roles import Role
from apps.merchants.models import Membership, Merchant
from apps.reports import metrics
from apps.reports.ranges import ReportRange
from apps.tickets import clock
from apps.tickets.models import SlaMetric, Ticket
from apps.tickets.services.sla import merchant_schedule

SLA_TARGETS = {  # metric -> (when it was met, its breach flag, its due time) on the ticket
    SlaMetric.FIRST_RESPONSE: ("first_response_at", "first_response_breached", "first_response_due_at"),
    SlaMetric.RESOLUTION: ("solved_at", "resolution_breached", "resolution_due_at"),
}


@dataclass(frozen=True)
class Duration:
    """One measured interval: its calendar and business seconds, and who and what it belongs to."""

    seconds: int
    business_seconds: int
    channel: str
    agent_id: int | None


def _duration(schedule: clock.Schedule, start: datetime, end: datetime, *, channel: str, agent_id) -> Duration:
    return Duration(
        seconds=int((end - start).total_seconds()),
        business_seconds=clock.business_seconds_between(schedule, start, end),
        channel=channel,
        agent_id=agent_id,
    )


def member_replies() -> QuerySet[Message]:
    """Messages a member wrote to the customer: no bot, automation, campaign or internal note."""
    return Message.objects.filter(
        direction=MessageDirection.OUTBOUND, author_kind=AuthorKind.AGENT, automated=False, author__isnull=False
    ).exclude(kind=MessageKind.NOTE)


def _in(qs: QuerySet, field: str, period: ReportRange) -> QuerySet:
    return qs.filter(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def _started(merchant: Merchant, period: ReportRange) -> QuerySet[Conversation]:
    return _in(Conversation.objects.for_merchant(merchant), "created_at", period)


def first_response_samples(*, merchant: Merchant, period: ReportRange, schedule: clock.Schedule) -> list[Duration]:
    customer = Message.objects.filter(
        conversation=OuterRef("pk"), direction=MessageDirection.INBOUND, author_kind=AuthorKind.CONTACT
    ).order_by("created_at", "id")
    resolution = ConversationLifecycleEvent.objects.filter(conversation=OuterRef("pk"), kind=LifecycleKind.RESOLVED)
    reply = (
        member_replies()
        .filter(conversation=OuterRef("pk"), created_at__gte=OuterRef("asked_at"))
        .order_by("created_at", "id")
    )
    # One subquery per figure: the reply's id only (its time and author come in one read after), and no
    # filter on an annotation, which PostgreSQL would evaluate a second time per conversation.
    rows = list(
        _started(merchant, period)
        .annotate(asked_at=Subquery(customer.values("created_at")[:1]))
        .annotate(first_resolved_at=Subquery(resolution.order_by("at").values("at")[:1]))
        .annotate(reply_id=Subquery(reply.values("id")[:1]))
        .values_list("asked_at", "reply_id", "first_resolved_at", "channel__kind")
    )
    replies = _replies([reply_id for _, reply_id, _, _ in rows if reply_id is not None])
    samples = []
    for asked, reply_id, resolved, kind in rows:
        if reply_id is None:
            continue
        replied, replier = replies[reply_id]
        if resolved is None or replied <= resolved:  # a reply after the first resolution belongs to a reopening
            samples.append(_duration(schedule, asked, replied, channel=kind, agent_id=replier))
    return samples


ID_BATCH = 10_000  # under SQLite's bound on query parameters


def _replies(ids: list[int]) -> dict[int, tuple[datetime, int]]:
    """reply id -> (when, by whom), read in batches of ids."""
    found = {}
    for start in range(0, len(ids), ID_BATCH):
        batch = Message.objects.filter(pk__in=ids[start : start + ID_BATCH])
        found.update({pk: (at, author) for pk, at, author in batch.values_list("pk", "created_at", "author_id")})
    return found


def resolution_samples(*, merchant: Merchant, period: ReportRange, schedule: clock.Schedule) -> list[Duration]:
    reopening = ConversationLifecycleEvent.objects.filter(
        conversation=OuterRef("conversation"), kind=LifecycleKind.REOPENED, at__lt=OuterRef("at")
    ).order_by("-at", "-id")
    rows = (
        _in(ConversationLifecycleEvent.objects.for_merchant(merchant), "at", period)
        .filter(kind=LifecycleKind.RESOLVED)
        .annotate(reopened_at=Subquery(reopening.values("at")[:1]))
        .values_list("at", "reopened_at", "conversation__created_at", "conversation__channel__kind", "assignee_id")
    )
    return [
        _duration(schedule, reopened or created, resolved, channel=kind, agent_id=assignee)
        for resolved, reopened, created, kind, assignee in rows
    ]


def _durations(samples: list[Duration]) -> dict:
    return {
        "calendar": metrics.summarize(s.seconds for s in samples),
        "business": metrics.summarize(s.business_seconds for s in samples),
    }


def _timing(first_responses: list[Duration], resolutions: list[Duration]) -> dict:
    frt, res = _durations(first_responses), _durations(resolutions)
    return {
        "first_response_seconds": frt["calendar"],
        "resolution_seconds": res["calendar"],
        "business_hours": {"first_response_seconds": frt["business"], "resolution_seconds": res["business"]},
    }


def _volume_rows(merchant: Merchant, period: ReportRange) -> list[tuple[str, datetime, str]]:
    """(kind, at, channel kind) for every start, resolution and reopening in the period."""
    starts = _started(merchant, period).values_list("created_at", "channel__kind")
    started = [("started", at, kind) for at, kind in starts]
    lifecycle = _in(ConversationLifecycleEvent.objects.for_merchant(merchant), "at", period).values_list(
        "kind", "at", "conversation__channel__kind"
    )
    return started + list(lifecycle)


VOLUMES = ("started", LifecycleKind.RESOLVED.value, LifecycleKind.REOPENED.value)


def _counts(rows: Iterable[tuple[str, datetime, str]]) -> dict:
    counts = dict.fromkeys(VOLUMES, 0)
    for kind, _at, _channel in rows:
        counts[kind] += 1
    return counts


def conversation_report(*, merchant: Merchant, period: ReportRange) -> dict:
    schedule = merchant_schedule(merchant=merchant)
    rows = _volume_rows(merchant, period)
    by_day: dict[date, list] = defaultdict(list)
    by_channel: dict[str, list] = defaultdict(list)
    for row in rows:
        by_day[period.local_day(row[1])].append(row)
        by_channel[row[2]].append(row)
    first_responses = first_response_samples(merchant=merchant, period=period, schedule=schedule)
    resolutions = resolution_samples(merchant=merchant, period=period, schedule=schedule)
    return {
        **_range_fields(period),
        **_counts(rows),
        **_timing(first_responses, resolutions),
        "by_channel": {
            kind: {
                **_counts(by_channel[kind]),
                **_timing(
                    [s for s in first_responses if s.channel == kind], [s for s in resolutions if s.channel == kind]
                ),
            }
            for kind in ChannelKind.values
        },
        "by_day": [{"date": day.isoformat(), **_counts(by_day[day])} for day in period.days],
    }


def _range_fields(period: ReportRange) -> dict:
    return {"from": period.first.isoformat(), "to": period.last.isoformat(), "timezone": period.tz.key}


def csat_rows(*, merchant: Merchant, period: ReportRange) -> list[tuple[int | None, int | None]]:
    """(rating or None, assignee id) of each survey sent in the period."""
    tickets = _in(Ticket.objects.for_merchant(merchant), "csat_sent_at", period)
    return list(tickets.values_list("csat_rating", "assignee_id"))


def csat_report(*, merchant: Merchant, period: ReportRange) -> dict:
    rows = csat_rows(merchant=merchant, period=period)
    return {**_range_fields(period), **metrics.csat_summarize(rating for rating, _ in rows)}


def sla_report(*, merchant: Merchant, period: ReportRange, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    fields = [field for names in SLA_TARGETS.values() for field in names]
    tickets = _in(Ticket.objects.for_merchant(merchant), "created_at", period).filter(sla_policy__isnull=False)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for row in tickets.values("sla_policy_id", "sla_policy__name", "sla_targets", *fields).order_by("sla_policy_id"):
        for metric, (met, breached, due) in SLA_TARGETS.items():
            target = (row["sla_targets"] or {}).get(metric)
            if target is None:
                continue
            outcome = metrics.sla_outcome(met_at=row[met], due_at=row[due], breached=row[breached], now=now)
            groups[(row["sla_policy_id"], row["sla_policy__name"], metric.value, int(target))].append(outcome)
    return {
        **_range_fields(period),
        **metrics.sla_summarize(outcome for outcomes in groups.values() for outcome in outcomes),
        "policies": [
            {
                "policy": {"id": pid, "name": name},
                "metric": metric,
                "target_seconds": target,
                **metrics.sla_summarize(found),
            }
            for (pid, name, metric, target), found in sorted(groups.items())
        ],
    }


def _handled(merchant: Merchant, period: ReportRange) -> dict[int, int]:
    replies = _in(member_replies().filter(merchant=merchant), "created_at", period)
    rows = replies.values("author_id").annotate(n=Count("conversation_id", distinct=True)).order_by()
    return {row["author_id"]: row["n"] for row in rows}


def agent_report(*, merchant: Merchant, period: ReportRange) -> dict:
    schedule = merchant_schedule(merchant=merchant)
    first_responses = first_response_samples(merchant=merchant, period=period, schedule=schedule)
    resolutions = resolution_samples(merchant=merchant, period=period, schedule=schedule)
    surveys = csat_rows(merchant=merchant, period=period)
    handled = _handled(merchant, period)
    members = (
        Membership.objects.for_merchant(merchant)
        .filter(role__in=[Role.ADMIN, Role.AGENT])
        .select_related("user")
        .order_by("user__email")
    )
    return {
        **_range_fields(period),
        "agents": [
            {
                "agent": {"id": m.user_id, "name": m.user.full_name, "email": m.user.email, "role": m.role},
                "handled": handled.get(m.user_id, 0),
                **_timing(
                    [s for s in first_responses if s.agent_id == m.user_id],
                    [s for s in resolutions if s.agent_id == m.user_id],
                ),
                "csat": metrics.csat_summarize(rating for rating, who in surveys if who == m.user_id),
            }
            for m in members
        ],
    }


def _consent_kind(action: str, resulting_status: str) -> str | None:
    if action in (ConsentAction.GRANT, ConsentAction.CONFIRM) and resulting_status == ConsentStatus.GRANTED:
        return "grant"
    return "revoke" if action == ConsentAction.REVOKE else None


def consent_report(*, merchant: Merchant, period: ReportRange) -> dict:
    events = _in(ConsentEvent.objects.for_merchant(merchant), "occurred_at", period).filter(purpose="marketing")
    rows = [
        (kind, channel, source)
        for action, status, channel, source in events.values_list("action", "resulting_status", "channel", "source")
        if (kind := _consent_kind(action, status)) is not None
    ]
    return {
        **_range_fields(period),
        **metrics.consent_summarize(kind for kind, _, _ in rows),
        "by_channel": {ch: metrics.consent_summarize(k for k, c, _ in rows if c == ch) for ch in ConsentChannel.values},
        "by_source": {
            src: metrics.consent_summarize(k for k, _, s in rows if s == src) for src in ConsentSource.values
        },
    }


def campaign_funnel(*, campaign: Campaign) -> dict:
    """The campaign page's own funnel (campaigns.selectors.campaign_funnel over campaign_results): one computation."""
    results = campaign_results(campaign=campaign)
    steps = campaigns_funnel(results=results)
    counts = {step["key"]: step["count"] for step in steps}
    return {
        "campaign": {"id": campaign.pk, "name": campaign.name, "status": campaign.status},
        **counts,
        "excluded": results["skipped"],
        "failed": results["failed"],
        "steps": [{k: step[k] for k in ("key", "label", "count", "share")} for step in steps],
    }
