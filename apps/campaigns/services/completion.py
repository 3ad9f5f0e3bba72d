"""running -> completed: once the ledger is built and no delivery is pending or claimed."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from apps.campaigns import progress
from apps.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState


def progress_after_commit(campaign: Campaign) -> None:
    """Push the campaign's progress (unthrottled: a status change must show) once the write commits."""
    campaign_id = campaign.pk
    transaction.on_commit(lambda: progress.progress_broadcast(campaign_id=campaign_id, force=True))


def _has_open_deliveries(campaign_id: int) -> bool:
    """Any pending or claimed row, read in one statement (one snapshot: a row moving between the two states
    is seen). Each probe is ordered like its partial index so the planner walks that index: it has no
    per-campaign state statistics and would otherwise expect other campaigns' pending rows and scan the ledger.
    """
    rows = Delivery.objects.filter(campaign_id=campaign_id)
    pending = rows.filter(state=DeliveryState.PENDING).order_by("not_before", "id").values("pk")[:1]
    claimed = rows.filter(state=DeliveryState.CLAIMED).order_by("lease_expires_at").values("pk")[:1]
    found = Campaign.objects.filter(pk=campaign_id).values_list(Subquery(pending), Subquery(claimed)).first()
    return found is not None and any(pk is not None for pk in found)


def campaign_complete_if_done(*, campaign_id: int) -> bool:
    """running -> completed once the ledger is built and nothing is pending or claimed (unknowns are
    reconciled later)."""
    # Built first, open rows second: every chunk commits before `ledger_built_at`, so once this read
    # sees it set, the next statement sees every row the build wrote.
    if not Campaign.objects.filter(pk=campaign_id, ledger_built_at__isnull=False).exists():
        return False
    if _has_open_deliveries(campaign_id):
        return False
    with transaction.atomic():
        changed = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).update(
            status=CampaignStatus.COMPLETED, completed_at=timezone.now()
        )
        if changed:
            progress_after_commit(Campaign(pk=campaign_id))
    return bool(changed)
