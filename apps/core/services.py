"""Writes owned by core."""

from __future__ import annotations

from django.db.models.functions import Now

from apps.core.models import SchedulerHeartbeat


def scheduler_heartbeat_record() -> None:
    """Stamp the heartbeat with the database's clock, so web processes on other machines compare like with like."""
    SchedulerHeartbeat.objects.update_or_create(pk=SchedulerHeartbeat.SINGLETON, defaults={"ticked_at": Now()})
