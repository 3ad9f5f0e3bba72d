"""Cross-app reads for the portal shell. Domain apps register what the dashboard shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
