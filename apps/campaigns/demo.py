"""The demo shop's marketing: templates (approved and pending), segments, and three campaigns.

Templates, segments and campaigns go through their services (the validation they give the API). The
completed campaign's delivery ledger is inserted in bulk with what the claim and the status webhooks would
have left: recipients who had granted WhatsApp marketing by the send were sent to (read, delivered, sent,
failed, or over Meta's marketing limit), the others skipped with the gate's reason. Its replies and opt-outs
are the WhatsApp messages and STOP events the contacts and conversations seeds placed after the send.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from apps.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryState, TemplateCategory, TemplateStatus
from apps.campaigns.segment_rules import rules_queryset
from apps.campaigns.services import campaign_create, campaign_launch, segment_create, template_create
from apps.campaigns.services.templates import stop_button
from apps.contacts.gate import STATUS_REASON
from apps.contacts.models import ConsentChannel, ConsentEvent, ConsentStatus, Purpose
from apps.conversations.models import Channel, ChannelKind, Message, MessageDirection
from apps.core import demo_data
from apps.core.roles import Role
from apps.merchants.models import Merchant

PROMO_BODY = (
    "¡Hola {{nombre}}! Llegan las rebajas a Tienda Sol: hasta un 30 % en toda la tienda con el código {{codigo}}."
)
SHIPPED_BODY = "Hola {{nombre}}, tu pedido {{pedido}} ya está en camino. Te avisaremos cuando llegue."
WINTER_BODY = "{{nombre}}, abrimos la colección de invierno: envío gratis este fin de semana."
HEADER_URL = "https://tiendasol.example/img/rebajas.png"
# Fractions of the reached recipients, in order: the rest were read.
OUTCOMES = ((DeliveryState.FAILED, 0.05), (DeliveryState.SKIPPED, 0.05), (DeliveryState.SENT, 0.05),
            (DeliveryState.DELIVERED, 0.30))  # fmt: skip
FAILED_CODE, FAILED_TEXT = "131026", "Message undeliverable"
LIMIT_CODE = "131049"


def seed_campaigns(*, merchant: Merchant, members: dict) -> None:
    if Campaign.objects.for_merchant(merchant).exists():
        return
    now = timezone.now()
    rng = demo_data.demo_rng("campaigns")
    marketer = members[Role.MARKETER].user
    whatsapp = Channel.objects.for_merchant(merchant).get(kind=ChannelKind.WHATSAPP)
    promo, _shipped, winter = _templates(merchant)  # the utility one is for the inbox, outside the window
    everyone, madrid, regulars = _segments(merchant)
    common = {"merchant": merchant, "created_by": marketer, "channel": whatsapp, "params": {"nombre": "first_name"}}
    sent_at = now - timedelta(days=demo_data.CAMPAIGN_SENT_DAYS_AGO)
    done = campaign_create(name="Rebajas de otoño", template=promo, segment=everyone,
                           fallbacks={"nombre": "cliente", "codigo": "SOL30"}, **common)  # fmt: skip
    _completed(done, sent_at, rng)
    scheduled = campaign_create(
        name="Colección de invierno en Madrid", template=promo, segment=madrid,
        fallbacks={"nombre": "cliente", "codigo": "INVIERNO20"}, scheduled_at=_local(merchant, now, 3, time(10, 0)),
        quiet_hours={"start": "21:00", "end": "09:00"}, **common,
    )  # fmt: skip
    campaign_launch(campaign=scheduled, now=now)
    draft = campaign_create(name="Newsletter de enero", template=winter, segment=regulars, **common)
    Campaign.objects.filter(pk=scheduled.pk).update(created_at=now - timedelta(days=2))
    Campaign.objects.filter(pk=draft.pk).update(created_at=now - timedelta(hours=5))


def _local(merchant: Merchant, now: datetime, days: int, at: time) -> datetime:
    """`at` o'clock in the merchant's time zone, `days` from today."""
    day = now.astimezone(merchant.tz).date() + timedelta(days=days)
    return datetime.combine(day, at, tzinfo=merchant.tz)


def _templates(merchant: Merchant):
    promo = template_create(
        merchant=merchant, name="rebajas_sol", language="es", body=PROMO_BODY, header_media_url=HEADER_URL,
        header_media_type="image", buttons=[{"text": "Ver ofertas", "payload": "VER_OFERTAS"}, stop_button()],
        status=TemplateStatus.APPROVED,
    )  # fmt: skip
    shipped = template_create(merchant=merchant, name="pedido_enviado", language="es", body=SHIPPED_BODY,
                              category=TemplateCategory.UTILITY, status=TemplateStatus.APPROVED)  # fmt: skip
    winter = template_create(merchant=merchant, name="coleccion_invierno", language="es", body=WINTER_BODY,
                             buttons=[stop_button()])  # fmt: skip
    return promo, shipped, winter


def _segments(merchant: Merchant):
    everyone = segment_create(merchant=merchant, name="Clientes con WhatsApp",
                              rules={"tags_any": ["cliente"], "has_identity": "whatsapp"})  # fmt: skip
    madrid = segment_create(merchant=merchant, name="Madrid con consentimiento", rules={
        "attributes": [{"key": "city", "op": "eq", "value": "Madrid"}],
        "consent": {"channel": "whatsapp", "purpose": "marketing", "status": ["granted"]},
    })  # fmt: skip
    regulars = segment_create(merchant=merchant, name="Compradores recurrentes",
                              rules={"tags_any": ["recurrente", "vip"], "last_seen_within_days": 30})  # fmt: skip
    return everyone, madrid, regulars


def _status_at(merchant: Merchant, when: datetime) -> dict[int, str]:
    """Each contact's WhatsApp marketing consent as it stood at `when`, from the ledger."""
    status: dict[int, str] = {}
    events = ConsentEvent.objects.for_merchant(merchant).filter(
        channel=ConsentChannel.WHATSAPP, purpose=Purpose.MARKETING, occurred_at__lte=when
    )
    for contact_id, resulting in events.order_by("occurred_at", "id").values_list("contact_id", "resulting_status"):
        status[contact_id] = resulting
    return status


def _completed(campaign: Campaign, started: datetime, rng) -> None:
    merchant = campaign.merchant
    audience = list(rules_queryset(merchant=merchant, rules=campaign.segment.rules).order_by("pk").values_list("pk"))
    consent = _status_at(merchant, started)
    answered = set(
        Message.objects.filter(
            channel=campaign.channel, direction=MessageDirection.INBOUND, created_at__gte=started
        ).values_list("conversation__contact_id", flat=True)
    )
    answered |= set(
        ConsentEvent.objects.for_merchant(merchant)
        .filter(channel=ConsentChannel.WHATSAPP, action="revoke", occurred_at__gte=started)
        .values_list("contact_id", flat=True)
    )
    rows = [
        _delivery(campaign, contact_id, index, started, consent.get(contact_id, ConsentStatus.NONE),
                  contact_id in answered, rng)
        for index, (contact_id,) in enumerate(audience)
    ]  # fmt: skip
    Delivery.objects.bulk_create(rows, batch_size=500)
    finished = started + timedelta(seconds=len(rows) // 2 + 60)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.COMPLETED, audience_size=len(rows), ledger_built_at=started, launched_at=started,
        started_at=started, completed_at=finished, heartbeat_at=finished, created_at=started - timedelta(days=1),
    )  # fmt: skip


def _delivery(campaign, contact_id, index, started, consent, answered, rng) -> Delivery:
    at = started + timedelta(seconds=index // 2)
    row = Delivery(
        merchant_id=campaign.merchant_id, campaign=campaign, contact_id=contact_id, not_before=started,
        attempts=0, reason="", error_code="", error_message="", provider_message_id="", claim_token="",
    )  # fmt: skip
    if consent != ConsentStatus.GRANTED:
        row.state, row.reason, row.attempted_at = DeliveryState.SKIPPED, STATUS_REASON[consent], at
        return row
    state = DeliveryState.READ
    if not answered:  # who replied or sent STOP had certainly read it
        draw = rng.random()
        for outcome, share in OUTCOMES:
            if draw < share:
                state = outcome
                break
            draw -= share
    row.attempts, row.attempted_at, row.dispatched_at = 1, at, at
    if state == DeliveryState.SKIPPED:  # Meta refused it: the person's marketing limit for today
        row.state, row.reason, row.error_code = state, "marketing_limit", LIMIT_CODE
        return row
    row.state, row.provider_message_id = state, f"wamid.demo-campaign-{campaign.pk}-{contact_id}"
    if state == DeliveryState.FAILED:
        row.error_code, row.error_message, row.failed_at = FAILED_CODE, FAILED_TEXT, at + timedelta(seconds=3)
        return row
    row.sent_at = at + timedelta(seconds=1)
    if state in (DeliveryState.DELIVERED, DeliveryState.READ):
        row.delivered_at = at + timedelta(seconds=4)
    if state == DeliveryState.READ:
        row.read_at = at + timedelta(minutes=rng.randint(1, 180))
    return row
