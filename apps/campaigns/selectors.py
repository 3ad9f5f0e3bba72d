"""Reads for apps.campaigns: lists, counts, stats and results."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Exists, OuterRef, QuerySet

from apps.campaigns.models import (
    COUNTED,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryState,
    MessageTemplate,
    Segment,
    TemplateCategory,
    TemplateStatus,
)
from apps.campaigns.segment_rules import consent_status_expression, rules_queryset
from apps.contacts.models import ConsentEvent, ContactIdentity

STATES = [s.value for s in DeliveryState]


def marketing_deliveries_count(*, merchant, contact_id: int, since) -> int:
    """Marketing campaign deliveries attempted for the contact since `since` that count toward a cap (those
    campaigns' own caps count: claimed, sent, delivered, read, unknown). Registered with conversations'
    hooks, so the merchant's cap on single sends counts campaign messages too."""
    return Delivery.objects.filter(
        merchant=merchant,
        contact_id=contact_id,
        attempted_at__gte=since,
        state__in=COUNTED,
        campaign__template__category=TemplateCategory.MARKETING,
    ).count()


def template_list(*, merchant, status: str | None = None) -> QuerySet[MessageTemplate]:
    qs = MessageTemplate.objects.for_merchant(merchant).order_by("-id")
    return qs.filter(status=status) if status else qs


def template_list_usable(*, merchant, channel) -> list[MessageTemplate]:
    """For the inbox's blocked composer: the merchant's approved templates for this channel's kind.

    Registered with conversations' hooks; `merchant` may be a Merchant or its id.
    """
    return list(
        MessageTemplate.objects.for_merchant(merchant)
        .filter(channel_kind=channel.kind, status=TemplateStatus.APPROVED)
        .order_by("name", "language")
    )


def segment_list(*, merchant) -> QuerySet[Segment]:
    return Segment.objects.for_merchant(merchant).order_by("-id")


def campaign_list(*, merchant, status: str | None = None) -> QuerySet[Campaign]:
    qs = Campaign.objects.for_merchant(merchant).select_related("channel", "template", "segment").order_by("-id")
    return qs.filter(status=status) if status else qs


def segment_count(*, merchant, rules: dict) -> int:
    return rules_queryset(merchant=merchant, rules=rules).count()


def segment_counts(*, merchant, segments) -> dict[int, int]:
    """Live counts of many segments in one query (conditional counts over the merchant's contacts)."""
    from django.db.models import Q

    from apps.contacts.models import Contact

    segments = list(segments)
    if not segments:
        return {}
    aggregates = {
        f"s{segment.pk}": Count(
            "id", filter=Q(id__in=rules_queryset(merchant=merchant, rules=segment.rules).values("id"))
        )
        for segment in segments
    }
    row = Contact.objects.for_merchant(merchant).aggregate(**aggregates)
    return {segment.pk: row[f"s{segment.pk}"] for segment in segments}


def audience_preview(*, merchant, rules: dict, channel_kind: str = "whatsapp") -> dict:
    """The live count and the exclusions a campaign on this channel would make (at this moment)."""
    contacts = rules_queryset(merchant=merchant, rules=rules)
    identity = ContactIdentity.objects.filter(contact=OuterRef("pk"), kind=channel_kind)
    rows = (
        contacts.annotate(
            consent_now=consent_status_expression(channel=channel_kind, purpose="marketing"),
            reachable=Exists(identity),
        )
        .values("consent_now", "reachable", "phone")
        .annotate(n=Count("id"))
    )
    total, excluded = 0, defaultdict(int)
    reasons = {"none": "no_consent", "revoked": "revoked", "pending": "pending_confirmation"}
    for row in rows:
        total += row["n"]
        if not row["reachable"] and not (channel_kind == "whatsapp" and row["phone"]):
            excluded["no_identity"] += row["n"]
        elif row["consent_now"] != "granted":
            excluded[reasons.get(row["consent_now"], "no_consent")] += row["n"]
    return {"count": total, "excluded": dict(excluded), "reachable": total - sum(excluded.values())}


def campaign_stats(*, campaign: Campaign) -> dict:
    """The contract's stats shape: audience, counts by state, skipped by reason, failed by code."""
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .values("state", "reason", "error_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    states = dict.fromkeys(STATES, 0)
    skipped: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    for row in rows:
        states[row["state"]] += row["n"]
        if row["state"] == DeliveryState.SKIPPED:
            skipped[row["reason"] or "unspecified"] += row["n"]
        elif row["state"] == DeliveryState.FAILED:
            failed[row["error_code"] or "unspecified"] += row["n"]
    return {"audience": sum(states.values()), "states": states, "skipped": dict(skipped), "failed": dict(failed)}


def campaign_results(*, campaign: Campaign) -> dict:
    """Stats plus what happened after: replies and marketing opt-outs since the campaign started."""
    stats = campaign_stats(campaign=campaign)
    reached = Delivery.objects.filter(
        campaign=campaign, state__in=[DeliveryState.SENT, DeliveryState.DELIVERED, DeliveryState.READ]
    )
    since = campaign.started_at
    opted_out = replied = 0
    if since is not None:
        opted_out = (
            ConsentEvent.objects.for_merchant(campaign.merchant_id)
            .filter(contact_id__in=reached.values("contact_id"), channel=campaign.channel.kind)
            .filter(purpose="marketing", action="revoke", occurred_at__gte=since)
            .values("contact_id")
            .distinct()
            .count()
        )
        replied = _replied(campaign, reached, since)
    states = stats["states"]
    stats["sent_total"] = states["sent"] + states["delivered"] + states["read"]
    stats["delivered_total"] = states["delivered"] + states["read"]
    stats["replied"], stats["opted_out"] = replied, opted_out
    return stats


def _replied(campaign: Campaign, reached, since) -> int:
    from apps.conversations.models import Message

    return (
        Message.objects.filter(
            merchant_id=campaign.merchant_id,
            channel_id=campaign.channel_id,
            direction="inbound",
            created_at__gte=since,
            conversation__contact_id__in=reached.values("contact_id"),
        )
        .values("conversation__contact_id")
        .distinct()
        .count()
    )


def delivery_list(*, campaign: Campaign, state: str | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.filter(campaign=campaign).select_related("contact")
    return qs.filter(state=state) if state else qs


def campaign_next_work_at(*, campaign_id: int):
    """When a running campaign next has something to settle or send: the earliest pending `not_before`
    or claim lease. None when it is not running or nothing is pending or claimed. Each probe walks
    its partial index."""
    if not Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).exists():
        return None
    rows = Delivery.objects.filter(campaign_id=campaign_id)
    pending = rows.filter(state=DeliveryState.PENDING).order_by("not_before", "id").values_list("not_before", flat=True)
    claimed = (
        rows.filter(state=DeliveryState.CLAIMED).order_by("lease_expires_at").values_list("lease_expires_at", flat=True)
    )
    times = [t for t in (pending.first(), claimed.first()) if t is not None]
    return min(times) if times else None


# --------------------------------------------------------------------------- the wizard and the results page
BASIC_FIELDS = [("first_name", "First name"), ("name", "Name"), ("email", "E-mail"), ("phone", "Phone")]
ATTRIBUTE_SAMPLE = 500


def contact_field_choices(*, merchant) -> list[tuple[str, str]]:
    """What a template variable can be filled with: the basic fields, then the attribute keys this merchant's
    contacts carry. The keys are read from a bounded sample of contacts with attributes (one query): a key only
    one contact in a hundred thousand has is still typed in the segment builder, never lost."""
    from apps.contacts.models import Contact

    rows = (
        Contact.objects.for_merchant(merchant)
        .filter(erased_at__isnull=True)
        .exclude(attributes={})
        .order_by("-id")
        .values_list("attributes", flat=True)[:ATTRIBUTE_SAMPLE]
    )
    keys = sorted({key for attributes in rows if isinstance(attributes, dict) for key in attributes})
    return BASIC_FIELDS + [(f"attributes.{key}", f"Attribute: {key}") for key in keys]


def contact_search(*, merchant, query: str, limit: int = 10):
    """The merchant's contacts whose name, phone or e-mail contains `query` (the test send's search box)."""
    from django.db.models import Q

    from apps.contacts.models import Contact

    query = (query or "").strip()[:100]
    if len(query) < 2:
        return Contact.objects.none()
    return (
        Contact.objects.for_merchant(merchant)
        .filter(erased_at__isnull=True, merged_into__isnull=True)
        .filter(Q(name__icontains=query) | Q(phone__icontains=query) | Q(email__icontains=query))
        .order_by("name", "id")[:limit]
    )


# (key, label, the live cell's name: static/campaigns/progress.js updates the cells by these names)
FUNNEL = [
    ("audience", "Audience", "audience"),
    ("reachable", "Reachable", "reachable"),
    ("sent", "Sent", "sent_total"),
    ("delivered", "Delivered", "delivered_total"),
    ("read", "Read", "read"),
    ("replied", "Replied", "replied"),
    ("opted_out", "Opted out", "opted_out"),
]


def campaign_funnel(*, results: dict) -> list[dict]:
    """Funnel steps from `campaign_results`: each with its count and its share of the step before.

    Reachable is the audience minus those the gate or the caps left out; sent counts everything that
    reached the provider (delivered and read included), delivered counts read ones too.
    """
    counts = {
        "audience": results["audience"],
        "reachable": results["audience"] - sum(results["skipped"].values()),
        "sent": results["sent_total"],
        "delivered": results["delivered_total"],
        "read": results["states"]["read"],
        "replied": results["replied"],
        "opted_out": results["opted_out"],
    }
    steps, previous = [], None
    for key, label, field in FUNNEL:
        n = counts[key]
        share = round(100 * n / previous) if previous else None  # nothing before: no share to speak of
        steps.append({"key": key, "label": label, "field": field, "count": n, "share": share})
        previous = n
    return steps
