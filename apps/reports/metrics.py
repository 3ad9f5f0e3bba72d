"""Every report figure, defined once: its name, the sentence that defines it, and the statistics over samples.

Pure: no database. The selectors gather samples from raw rows; the API, the portal's help text, the CSV and
README all read the definitions from `METRICS`, so a definition cannot say one thing in one place and another
elsewhere. Durations are whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    help: str


_DEFINITIONS = [
    Metric(
        "started",
        "Conversations started",
        "Conversations created in the period (the first message of a new thread, whoever wrote it).",
    ),
    Metric(
        "resolved",
        "Resolutions",
        "Times a conversation was resolved in the period; a conversation resolved, reopened and resolved "
        "again counts twice.",
    ),
    Metric(
        "reopened",
        "Reopened",
        "Times a resolved conversation was opened again in the period (the customer wrote again, or a "
        "member set it open).",
    ),
    Metric(
        "first_response_seconds",
        "First response time",
        "For conversations started in the period: from the customer's first message to the first reply a "
        "member sent after it, within the conversation's first open period. Bot, automated and campaign "
        "messages and internal notes are not replies. A reopened conversation gets no second first response, "
        "so reopening never inflates it; a conversation resolved before any member replied has none.",
    ),
    Metric(
        "resolution_seconds",
        "Resolution time",
        "For each resolution in the period: from the start of that open period (the conversation's creation, "
        "or its latest reopening before the resolution) to the resolution. The time a conversation spent "
        "resolved between a resolution and a reopening is never counted.",
    ),
    Metric(
        "business_hours",
        "In business hours",
        "The same durations counting only the merchant's default business hours (Settings → Business hours "
        "& SLAs, in their time zone, holidays excluded); round the clock when the merchant has none.",
    ),
    Metric(
        "handled",
        "Conversations handled",
        "Per member: conversations in which the member sent at least one reply in the period.",
    ),
    Metric(
        "agent_attribution",
        "Agent attribution",
        "A first response belongs to the member who sent it; a resolution to the conversation's assignee at "
        "the moment it was resolved; a CSAT answer to the ticket's assignee. The figures are the same "
        "functions as the merchant's, grouped by member.",
    ),
    Metric(
        "csat_score",
        "CSAT score",
        "The mean rating (1 to 5) of the surveys sent in the period that were answered, to two decimals.",
    ),
    Metric(
        "csat_response_rate",
        "CSAT response rate",
        "Answered surveys ÷ surveys sent in the period (tickets whose survey went out in the period).",
    ),
    Metric(
        "csat_distribution",
        "CSAT distribution",
        "How many answered surveys gave each rating from 1 to 5.",
    ),
    Metric(
        "sla",
        "SLA achieved / breached",
        "Tickets created in the period under an SLA policy, per policy and target (first response, "
        "resolution): achieved = met before its due time, breached = met late or overdue, pending = not "
        "met and not yet due. Achieved rate = achieved ÷ (achieved + breached).",
    ),
    Metric(
        "consent_grants",
        "Consent grants",
        "Marketing consent events in the period that left the contact granted: a grant, or the confirmation "
        "of a double opt-in (a grant still pending confirmation is not counted).",
    ),
    Metric(
        "consent_revokes",
        "Consent revokes",
        "Marketing consent revocations in the period (STOP, provider opt-outs, agents, imports, the API).",
    ),
    Metric("consent_net", "Net consent growth", "Grants minus revokes."),
    Metric(
        "campaign_funnel",
        "Campaign funnel",
        "The campaign's audience, then who was excluded and why, sent, delivered, read, replied (contacts "
        "reached who wrote on the channel after the launch) and opted out (reached contacts who revoked "
        "marketing consent on the channel after the launch). The whole campaign, whatever the date range.",
    ),
    Metric(
        "statistics",
        "Median, p90, mean",
        "Median: the middle value (the mean of the two middle ones for an even count). p90: the "
        "nearest-rank 90th percentile, the smallest value at least 90% of the values do not exceed. Mean: "
        "the total ÷ the count. Each in whole seconds, rounded down; empty when there is no sample.",
    ),
]

METRICS: dict[str, Metric] = {metric.key: metric for metric in _DEFINITIONS}


def help_text(key: str) -> str:
    return METRICS[key].help


def summarize(values: Iterable[int]) -> dict:
    """`{"count", "median", "p90", "mean"}` of durations in seconds (None each when there are none)."""
    ordered = sorted(values)
    count = len(ordered)
    if not count:
        return {"count": 0, "median": None, "p90": None, "mean": None}
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) // 2
    return {
        "count": count,
        "median": median,
        "p90": ordered[math.ceil(0.9 * count) - 1],
        "mean": sum(ordered) // count,
    }


def ratio(part: int, whole: int) -> float | None:
    """part ÷ whole to four decimals; None when nothing was there to divide."""
    return round(part / whole, 4) if whole else None


RATINGS = (1, 2, 3, 4, 5)


def csat_summarize(ratings: Iterable[int | None]) -> dict:
    """One survey per item: its rating, or None when it went unanswered."""
    ratings = list(ratings)
    answered = [rating for rating in ratings if rating is not None]
    return {
        "sent": len(ratings),
        "answered": len(answered),
        "response_rate": ratio(len(answered), len(ratings)),
        "score": round(sum(answered) / len(answered), 2) if answered else None,
        "distribution": {str(rating): answered.count(rating) for rating in RATINGS},
    }


SLA_OUTCOMES = ("achieved", "breached", "pending")


def sla_outcome(*, met_at, due_at, breached: bool, now) -> str:
    """achieved, breached or pending for one ticket's target (a paused clock has no due time: pending)."""
    if breached or (met_at is not None and due_at is not None and met_at > due_at):
        return "breached"
    if met_at is not None:
        return "achieved"
    return "breached" if due_at is not None and due_at <= now else "pending"


def sla_summarize(outcomes: Iterable[str]) -> dict:
    outcomes = list(outcomes)
    counts = {name: outcomes.count(name) for name in SLA_OUTCOMES}
    counts["achieved_rate"] = ratio(counts["achieved"], counts["achieved"] + counts["breached"])
    return counts


def consent_summarize(kinds: Iterable[str]) -> dict:
    """`kinds`: "grant" or "revoke" per counted event (see consent_grants / consent_revokes)."""
    kinds = list(kinds)
    grants, revokes = kinds.count("grant"), kinds.count("revoke")
    return {"grants": grants, "revokes": revokes, "net": grants - revokes}
