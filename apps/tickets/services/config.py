"""Writes for the ticket settings: teams, business hours, SLA policies, saved filters."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.merchants.models import Membership, Merchant
from apps.tickets.models import BusinessHours, SavedFilter, SlaPolicy, Team, TeamMember
from apps.tickets.services.tickets import check_assignee

POLICY_FIELDS = (
    "name",
    "priority",
    "tag",
    "channel_kind",
    "business_hours",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "warn_before_minutes",
    "escalate_raise_priority",
    "escalate_team",
    "is_active",
    "position",
)
HOURS_FIELDS = ("name", "timezone", "periods", "holidays", "is_default")
CHANNEL_KINDS = ("", "webchat", "whatsapp", "messenger")


def _save(obj, unique_message: str) -> None:
    obj.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError({"name": unique_message}) from None


def _assign(obj, fields: tuple[str, ...], values: dict[str, Any]) -> None:
    unknown = set(values) - set(fields)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be set."))
    for name, value in values.items():
        setattr(obj, name, value)


# ------------------------------------------------------------------ teams
@transaction.atomic
def team_save(
    *, merchant: Merchant, team: Team | None = None, name: str, description: str = "", members: list | None = None
) -> Team:
    team = team or Team(merchant=merchant)
    team.name, team.description = (name or "").strip(), description or ""
    _save(team, "A team with this name already exists.")
    if members is not None:
        team_set_members(team=team, users=members)
    return team


def team_set_members(*, team: Team, users: list) -> None:
    for user in users:
        check_assignee(team.merchant_id, user)
    wanted = {u.pk for u in users}
    TeamMember.objects.filter(team=team).exclude(user_id__in=wanted).delete()
    have = set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))
    TeamMember.objects.bulk_create(
        TeamMember(merchant_id=team.merchant_id, team=team, user_id=pk) for pk in sorted(wanted - have)
    )


def team_delete(*, team: Team) -> None:
    team.delete()


def team_member_candidates(*, merchant: Merchant):
    return Membership.objects.for_merchant(merchant).select_related("user").order_by("user__email")


# ------------------------------------------------------------------ business hours
@transaction.atomic
def business_hours_save(*, merchant: Merchant, hours: BusinessHours | None = None, **values) -> BusinessHours:
    hours = hours or BusinessHours(merchant=merchant, timezone=merchant.timezone)
    _assign(hours, HOURS_FIELDS, values)
    if hours.is_default:  # one default per merchant: the newest choice wins
        BusinessHours.objects.for_merchant(merchant).filter(is_default=True).exclude(pk=hours.pk).update(
            is_default=False
        )
    if not hours.periods:
        raise ValidationError({"periods": "Give at least one working period."})
    if isinstance(hours.holidays, list):
        hours.holidays = sorted({str(d) for d in hours.holidays})
    _save(hours, "Business hours with this name already exist.")
    return hours


def business_hours_delete(*, hours: BusinessHours) -> None:
    hours.delete()


# ------------------------------------------------------------------ SLA policies
@transaction.atomic
def sla_policy_save(*, merchant: Merchant, policy: SlaPolicy | None = None, **values) -> SlaPolicy:
    policy = policy or SlaPolicy(merchant=merchant)
    _assign(policy, POLICY_FIELDS, values)
    if policy.channel_kind not in CHANNEL_KINDS:
        raise ValidationError({"channel_kind": "Choose webchat, whatsapp, messenger or leave empty."})
    if not any([policy.first_response_minutes, policy.next_response_minutes, policy.resolution_minutes]):
        raise ValidationError({"first_response_minutes": "Set at least one target."})
    policy.tag = (policy.tag or "").strip()
    _save(policy, "An SLA policy with this name already exists.")
    return policy


def sla_policy_delete(*, policy: SlaPolicy) -> None:
    policy.delete()


# ------------------------------------------------------------------ saved filters
ALLOWED_FILTER_PARAMS = {"queue", "status", "priority", "team", "assignee", "tag", "q", "sort", "contact"}


def saved_filter_save(*, merchant: Merchant, user, name: str, params: dict) -> SavedFilter:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the filter."})
    params = {k: str(v) for k, v in (params or {}).items() if k in ALLOWED_FILTER_PARAMS and v not in ("", None)}
    saved, _ = SavedFilter.objects.update_or_create(
        merchant=merchant, user=user, name=name[:80], defaults={"params": params}
    )
    return saved


def saved_filter_delete(*, saved: SavedFilter) -> None:
    saved.delete()
