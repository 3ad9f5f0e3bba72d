"""Recording what the provider answered: one statement per chunk, a row a status webhook already moved
on is left alone; errors are retried, released, failed or turned into a consent revocation."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.campaigns import conf
from apps.campaigns.models import Campaign, Delivery, DeliveryState
from apps.campaigns.services.claim import deliveries_release
from apps.campaigns.services.statuses import consent_revoke_from_provider
from apps.meta.batch import Outcome


def outcomes_record(campaign: Campaign, outcomes: list[Outcome], token: str) -> dict[str, int]:
    """Write one chunk's outcomes; a row a status webhook already moved on is left alone."""
    now = timezone.now()
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    open_rows = Delivery.objects.filter(state__in=[DeliveryState.CLAIMED, DeliveryState.UNKNOWN])
    if set(by_kind) <= {"sent"}:  # the usual chunk: one autocommitted statement, no BEGIN/COMMIT round trips
        if by_kind["sent"]:
            _record_sent(open_rows, by_kind["sent"], now)
        return {kind: len(items) for kind, items in by_kind.items()}
    with transaction.atomic():
        if by_kind["sent"]:
            _record_sent(open_rows, by_kind["sent"], now)
        if by_kind["unknown"]:
            open_rows.filter(pk__in=[o.delivery_id for o in by_kind["unknown"]]).update(
                state=DeliveryState.UNKNOWN, error_code="transport", lease_expires_at=None
            )
        _record_errors(campaign, by_kind, token, now)
    return {kind: len(items) for kind, items in by_kind.items()}


def _record_sent(open_rows, sent: list[Outcome], now: datetime) -> None:
    """One statement per chunk; a row a status webhook already moved past `claimed` is not touched."""
    if connection.vendor == "postgresql":
        table = Delivery._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS d SET state = 'sent', sent_at = %s, provider_message_id = v.pid "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::text[]) AS v(id, pid) "
                "WHERE d.id = v.id AND d.state IN ('claimed', 'unknown')",
                [now, [o.delivery_id for o in sent], [o.provider_message_id for o in sent]],
            )
        return
    rows = [
        Delivery(pk=o.delivery_id, provider_message_id=o.provider_message_id, state=DeliveryState.SENT, sent_at=now)
        for o in sent
    ]
    open_rows.bulk_update(rows, ["provider_message_id", "state", "sent_at"], batch_size=500)


def _record_errors(campaign: Campaign, by_kind: dict, token: str, now: datetime) -> None:
    retry_at = now + timedelta(seconds=2)
    throttled = [o.delivery_id for o in by_kind["throttled"]]
    deliveries_release(throttled, token=token, not_before=retry_at)
    retry = [o.delivery_id for o in by_kind["retry"]]
    exhausted = set(
        Delivery.objects.filter(pk__in=retry, attempts__gte=conf.max_attempts()).values_list("pk", flat=True)
    )
    deliveries_release([i for i in retry if i not in exhausted], token=token, not_before=now + timedelta(seconds=5))
    failed = by_kind["failed"] + [o for o in by_kind["retry"] if o.delivery_id in exhausted]
    for outcome in failed:
        Delivery.objects.filter(pk=outcome.delivery_id, state=DeliveryState.CLAIMED).update(
            state=DeliveryState.FAILED, error_code=outcome.code, error_message=outcome.message, failed_at=now
        )
    limited = [o.delivery_id for o in by_kind["marketing_limit"]]
    Delivery.objects.filter(pk__in=limited, state=DeliveryState.CLAIMED).update(
        state=DeliveryState.SKIPPED, reason="marketing_limit", error_code="131049"
    )
    if by_kind["opted_out"]:
        for outcome in by_kind["opted_out"]:
            consent_revoke_from_provider(delivery_id=outcome.delivery_id, code=outcome.code)
