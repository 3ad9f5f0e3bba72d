"""Campaign writes: validation, the state machine, start-up (ledger build) and completion."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.campaigns.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryState,
    MessageTemplate,
    Segment,
    TemplateStatus,
)
from apps.campaigns.placeholders import field_name_valid, template_variables
from apps.campaigns.services.completion import progress_after_commit
from apps.campaigns.services.ledger import ledger_chunks, ledger_insert
from apps.contacts import schedule
from apps.conversations.models import Channel
from apps.conversations.providers import SANDBOX_OFF, SANDBOX_OFF_MESSAGE, sandbox_refused
from apps.core.enqueue import enqueue_on_commit
from apps.core.tenancy import ensure_same_merchant

logger = logging.getLogger(__name__)

SENDABLE_KINDS = ("whatsapp",)
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
CAMPAIGN_LINKS = {"channel": Channel, "template": MessageTemplate, "segment": Segment}  # checked in this order
FIELDS = (
    "name",
    "channel",
    "template",
    "segment",
    "params",
    "fallbacks",
    "scheduled_at",
    "throttle_per_second",
    "quiet_hours",
    "frequency_cap",
)


class TransitionRefused(Exception):
    """An action the campaign's current status does not allow (the API answers 409)."""

    def __init__(self, message: str, code: str = "invalid_transition"):
        super().__init__(message)
        self.message, self.code = message, code


class LaunchRefused(Exception):
    """A business rule refuses the launch (the API answers 422 with `code`)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _foreign_links(merchant_id: int, linked: dict) -> set[str]:
    """The names of the links that point at another merchant's rows (the one same-merchant check)."""
    try:
        ensure_same_merchant(merchant_id=merchant_id, **linked)
    except ValidationError as exc:
        return set(exc.message_dict)
    return set()


def _check_links(campaign: Campaign, errors: dict, optional: frozenset[str] = frozenset()) -> None:
    linked = {name: getattr(campaign, name) if getattr(campaign, f"{name}_id") else None for name in CAMPAIGN_LINKS}
    foreign = _foreign_links(campaign.merchant_id, linked)
    for name, related in linked.items():
        if related is None and name in optional:
            continue
        if related is None:
            errors[name] = ["This field is required."]
        elif name in foreign:
            errors[name] = [f"No {CAMPAIGN_LINKS[name]._meta.verbose_name} with this id."]
    if "channel" in errors or "template" in errors:
        return
    if campaign.channel.kind not in SENDABLE_KINDS:
        errors["channel"] = ["Campaigns send on WhatsApp channels."]
    elif campaign.template.channel_kind != campaign.channel.kind:
        errors["template"] = [f"This template is for {campaign.template.channel_kind}, not {campaign.channel.kind}."]


def _check_params(campaign: Campaign, errors: dict) -> None:
    for name in ("params", "fallbacks"):
        value = getattr(campaign, name)
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            errors[name] = ["Give an object of variable name -> text."]
    if "params" in errors or "fallbacks" in errors or "template" in errors or not campaign.template_id:
        return
    bad = sorted(f for f in campaign.params.values() if not field_name_valid(f))
    if bad:
        errors["params"] = [f"“{bad[0]}” is not a contact field (name, first_name, phone, email, attributes.<key>)."]
    missing = [
        v
        for v in template_variables(campaign.template.body)
        if v not in campaign.params and not campaign.fallbacks.get(v)
    ]
    if missing:
        errors.setdefault("params", []).append(
            f"Map the template variable “{missing[0]}” to a field or give a fallback."
        )


def _quiet_hours_valid(value: object) -> bool:
    if value and not isinstance(value, dict):
        return False
    try:
        schedule.quiet_hours_parse(value)
    except (ValueError, TypeError):
        return False
    return True


def _check_pacing(campaign: Campaign, errors: dict) -> None:
    throttle = campaign.throttle_per_second
    if throttle is not None and not 0 <= throttle <= 1000:
        errors["throttle_per_second"] = ["Between 0 (no local limit) and 1000 per second; empty: the provider's limit."]
    if not _quiet_hours_valid(campaign.quiet_hours):
        errors["quiet_hours"] = ['Give {"start": "21:00", "end": "09:00"} (HH:MM, in each contact\'s time zone).']
    try:
        schedule.frequency_cap_parse(campaign.frequency_cap)
    except ValueError as exc:
        errors["frequency_cap"] = [str(exc)]


def campaign_validate(campaign: Campaign, *, optional: frozenset[str] = frozenset()) -> None:
    """`optional`: links a wizard draft may still lack (its audience before step 2); launch passes none."""
    errors: dict[str, list[str]] = {}
    if not (campaign.name or "").strip():
        errors["name"] = ["Name the campaign."]
    _check_links(campaign, errors, optional)
    _check_params(campaign, errors)
    _check_pacing(campaign, errors)
    if errors:
        raise ValidationError(errors)


def campaign_create(*, merchant, created_by=None, **fields) -> Campaign:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    fields.setdefault("params", {})
    fields.setdefault("fallbacks", {})
    campaign = Campaign(merchant=merchant, created_by=created_by, **fields)
    campaign_validate(campaign)
    campaign.save()
    logger.info("campaign.created", extra={"campaign_id": campaign.pk, "merchant_id": merchant.pk})
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, **fields) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in EDITABLE:
        raise TransitionRefused(f"A {campaign.status} campaign cannot be edited.", "not_editable")
    for key, value in fields.items():
        if key not in FIELDS:
            raise ValidationError({key: ["This field cannot be changed."]})
        setattr(campaign, key, value)
    campaign_validate(campaign)
    campaign.save()
    return campaign


def campaign_delete(*, campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise TransitionRefused(f"Only drafts can be deleted; this campaign is {campaign.status}. Cancel it instead.")
    campaign.delete()


def _locked(campaign: Campaign, allowed: tuple[str, ...], action: str) -> Campaign:
    locked = Campaign.objects.select_for_update().select_related("template", "channel").get(pk=campaign.pk)
    if locked.status not in allowed:
        raise TransitionRefused(
            f"Cannot {action} a {locked.status} campaign (only {' or '.join(allowed)} campaigns can be {action}d)."
        )
    return locked


@transaction.atomic
def campaign_launch(*, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """draft -> scheduled. It starts at `scheduled_at`, or right away when that is empty."""
    campaign = _locked(campaign, (CampaignStatus.DRAFT,), "launch")
    campaign_validate(campaign)
    if campaign.template.status != TemplateStatus.APPROVED:
        raise LaunchRefused("template_not_approved", f"The template is {campaign.template.status}, not approved.")
    if not campaign.channel.is_active:
        raise LaunchRefused("channel_inactive", "The channel is switched off.")
    if sandbox_refused(campaign.channel):
        raise LaunchRefused(SANDBOX_OFF, SANDBOX_OFF_MESSAGE)
    now = now or timezone.now()
    campaign.status = CampaignStatus.SCHEDULED
    campaign.launched_at = now
    campaign.save(update_fields=["status", "launched_at", "updated_at"])
    if campaign.scheduled_at is None or campaign.scheduled_at <= now:
        enqueue_on_commit("apps.campaigns.tasks.campaign_start", campaign.pk)
    progress_after_commit(campaign)
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Claims stop at once; batches in flight finish their current chunk and hand the rest back."""
    campaign = _locked(campaign, (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING), "pause")
    campaign.status = CampaignStatus.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    progress_after_commit(campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    """Only pending deliveries are claimed again: nothing already sent (or unknown) is resent."""
    campaign = _locked(campaign, (CampaignStatus.PAUSED,), "resume")
    campaign.status = CampaignStatus.RUNNING if campaign.ledger_built_at else CampaignStatus.SCHEDULED
    campaign.save(update_fields=["status", "updated_at"])
    running = campaign.status == CampaignStatus.RUNNING
    task = "apps.campaigns.tasks.campaign_dispatch" if running else "apps.campaigns.tasks.campaign_start"
    enqueue_on_commit(task, campaign.pk)
    progress_after_commit(campaign)
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign) -> Campaign:
    allowed = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)
    campaign = _locked(campaign, allowed, "cancel")
    campaign.status = CampaignStatus.CANCELLED
    campaign.completed_at = timezone.now()
    campaign.save(update_fields=["status", "completed_at", "updated_at"])
    Delivery.objects.filter(campaign=campaign, state=DeliveryState.PENDING).update(
        state=DeliveryState.SKIPPED, reason="cancelled"
    )
    progress_after_commit(campaign)
    return campaign


def campaign_start(*, campaign_id: int, now: datetime | None = None) -> bool:
    """scheduled (and due) -> running, then build the ledger; the senders start after its first chunk."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(pk=campaign_id, status=CampaignStatus.SCHEDULED)
            .first()
        )
        if campaign is None or (campaign.scheduled_at and campaign.scheduled_at > now):
            return False
        campaign.status = CampaignStatus.RUNNING
        campaign.started_at = campaign.started_at or now  # a resume after a pause mid-build keeps the first
        campaign.heartbeat_at = now
        campaign.save(update_fields=["status", "started_at", "heartbeat_at"])
        progress_after_commit(campaign)
    campaign_ledger_complete(campaign_id=campaign_id, now=now)
    return True


def _status_held_for_build(campaign_id: int) -> str:
    """The campaign's status, held until this chunk commits: FOR KEY SHARE waits for a cancel or pause
    (FOR UPDATE) and makes them wait, but not the senders' heartbeats (FOR NO KEY UPDATE)."""
    if connection.vendor != "postgresql":  # SQLite: one writer at a time anyway
        return Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first() or ""
    table = Campaign._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {table} WHERE id = %s FOR KEY SHARE", [campaign_id])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else ""


def campaign_ledger_complete(*, campaign_id: int, now: datetime | None = None) -> bool:
    """Build what is missing of a started campaign's ledger, one committed chunk at a time.

    Each chunk is idempotent, so a build cut short by a crash is finished by running this again (the
    tick does, once the build's heartbeat is stale). The campaign completes only once `ledger_built_at`
    is set. A cancelled campaign stops the build; a paused one keeps building, and sends on resume.
    """
    campaign = Campaign.objects.select_related("merchant", "segment").filter(pk=campaign_id).first()
    if campaign is None or campaign.ledger_built_at is not None:
        return False
    now = now or campaign.started_at or timezone.now()
    chunks = ledger_chunks(campaign=campaign)
    for index, contacts in enumerate(chunks):
        with transaction.atomic():
            if _status_held_for_build(campaign_id) not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
                return False
            ledger_insert(campaign=campaign, contacts=contacts, now=now)
            Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=timezone.now())
            if index == 0 and len(chunks) > 1:  # sending starts while the rest is built
                enqueue_on_commit("apps.campaigns.tasks.campaign_dispatch", campaign_id)
    with transaction.atomic():
        audience = Delivery.objects.filter(campaign_id=campaign_id).count()
        built = Campaign.objects.filter(
            pk=campaign_id,
            ledger_built_at__isnull=True,
            status__in=(CampaignStatus.RUNNING, CampaignStatus.PAUSED),
        ).update(ledger_built_at=timezone.now(), audience_size=audience)
        if built:
            progress_after_commit(campaign)
        if built and Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).exists():
            # Also for senders that drained the first chunks and stopped; completes an empty campaign.
            # A paused campaign is dispatched by its resume.
            enqueue_on_commit("apps.campaigns.tasks.campaign_dispatch", campaign_id)
    if built:
        logger.info("campaign.ledger_built", extra={"campaign_id": campaign_id, "audience": audience})
    return bool(built)
