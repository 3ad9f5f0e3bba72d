"""Cross-app reads for the portal shell. Domain apps register what the dashboard shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import DurationField, ExpressionWrapper, F
from django.db.models.functions import Now

from apps.core.models import SchedulerHeartbeat
from apps.core.roles import role_can


@dataclass(frozen=True)
class DashboardCard:
    title: str
    value: str
    url: str
    capability: str | None = None


DashboardProvider = Callable[..., list[DashboardCard]]
_dashboard_providers: list[DashboardProvider] = []


def register_dashboard_provider(provider: DashboardProvider) -> None:
    """Domain apps call this from AppConfig.ready() so core never imports them."""
    if provider not in _dashboard_providers:
        _dashboard_providers.append(provider)


def dashboard_cards(*, membership) -> list[DashboardCard]:
    cards = [card for provider in _dashboard_providers for card in provider(merchant=membership.merchant)]
    return [card for card in cards if card.capability is None or role_can(membership.role, card.capability)]


def scheduler_heartbeat_age() -> timedelta | None:
    """How long ago a worker last ran beat's heartbeat, by the database's clock; None when it never did."""
    age = ExpressionWrapper(Now() - F("ticked_at"), output_field=DurationField())
    return SchedulerHeartbeat.objects.annotate(age=age).values_list("age", flat=True).first()
