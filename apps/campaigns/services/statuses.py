"""Provider status webhooks applied to the ledger: forward only, at-least-once safe."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.campaigns import progress
from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.services.claim import delivery_id_from_opaque
from apps.meta.webhooks import StatusUpdate

logger = logging.getLogger(__name__)

RANK = {
    DeliveryState.PENDING: 0,
    DeliveryState.CLAIMED: 1,
    DeliveryState.UNKNOWN: 1,
    DeliveryState.SENT: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.READ: 4,
}
TIME_FIELD = {DeliveryState.SENT: "sent_at", DeliveryState.DELIVERED: "delivered_at", DeliveryState.READ: "read_at"}


def _find(channel, provider_message_id: str, opaque) -> Delivery | None:
    qs = Delivery.objects.for_merchant(channel.merchant_id).filter(campaign__channel_id=channel.pk)
    delivery_id = delivery_id_from_opaque(opaque)
    if delivery_id is not None:
        return qs.select_for_update().filter(pk=delivery_id).first()
    if provider_message_id:
        return qs.select_for_update().filter(provider_message_id=provider_message_id).first()
    return None


def _failure(delivery: Delivery, code: str, message: str, at: datetime) -> list[str]:
    if code == "131050":
        delivery.state, delivery.reason = DeliveryState.SKIPPED, "revoked"
        transaction.on_commit(lambda: consent_revoke_from_provider(delivery_id=delivery.pk, code=code))
    elif code == "131049":
        delivery.state, delivery.reason = DeliveryState.SKIPPED, "marketing_limit"
    else:
        delivery.state = DeliveryState.FAILED
    delivery.error_code, delivery.error_message, delivery.failed_at = code, (message or "")[:500], at
    return ["state", "reason", "error_code", "error_message", "failed_at"]


def _advance(delivery: Delivery, status: str, provider_message_id: str, code: str, message: str, at) -> list[str]:
    """Fields changed; never backwards (read before delivered keeps read), never out of a terminal state."""
    fields: list[str] = []
    if provider_message_id and not delivery.provider_message_id:
        delivery.provider_message_id = provider_message_id
        fields.append("provider_message_id")
    current = RANK.get(delivery.state)
    if current is None:  # failed / skipped: final
        return fields
    if status == "failed":
        return fields + (_failure(delivery, code, message, at) if current <= RANK[DeliveryState.SENT] else [])
    target = RANK.get(status)
    if target is None or target < RANK[DeliveryState.SENT] or target <= current:
        return fields
    delivery.state = status
    fields.append("state")
    for state, name in TIME_FIELD.items():  # read implies delivered and sent: fill what is missing
        if RANK[state] <= target and getattr(delivery, name) is None:
            setattr(delivery, name, at)
            fields.append(name)
    delivery.lease_expires_at = None
    return [*fields, "lease_expires_at"]


def delivery_status_handle(update: StatusUpdate, *, channel) -> bool:
    """Subscribed to Meta's status updates (apps.meta.dispatch). True when the status was a campaign's."""
    with transaction.atomic():
        delivery = _find(channel, update.message_id, update.opaque)
        if delivery is None:
            return False
        fields = _advance(
            delivery, update.status, update.message_id, update.error_code, update.error_message, update.timestamp
        )
        if fields:
            delivery.save(update_fields=list(dict.fromkeys(fields)))
            campaign_id = delivery.campaign_id
            transaction.on_commit(lambda: _progress(campaign_id))
    return True


def _progress(campaign_id: int) -> None:
    progress.progress_broadcast(campaign_id=campaign_id)


def consent_revoke_from_provider(*, delivery_id: int, code: str) -> None:
    """Meta says the person stopped marketing messages (131050): the consent ledger learns it."""
    from apps.contacts.services import consent_record

    delivery = (
        Delivery.objects.select_related("contact", "campaign__channel", "merchant").filter(pk=delivery_id).first()
    )
    if delivery is None:
        return
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.CLAIMED).update(
            state=DeliveryState.SKIPPED, reason="revoked", error_code=code
        )
        try:
            _revoke(delivery, code, consent_record)
        except ValidationError as exc:  # erased or merged meanwhile: nothing left to revoke
            logger.info("campaigns.revoke_skipped", extra={"delivery_id": delivery_id, "reason": exc.messages})


def _revoke(delivery: Delivery, code: str, consent_record) -> None:
    with transaction.atomic():
        consent_record(
            merchant=delivery.merchant,
            contact=delivery.contact,
            channel=delivery.campaign.channel.kind,
            purpose="marketing",
            action="revoke",
            source="provider_error",
            wording=f"WhatsApp error {code}: the person stopped marketing messages.",
            actor_label=f"Campaign {delivery.campaign_id}",
        )
