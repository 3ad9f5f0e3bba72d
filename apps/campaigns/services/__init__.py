"""Writes for apps.campaigns."""

from apps.campaigns.services.campaigns import (
    LaunchRefused,
    TransitionRefused,
    campaign_cancel,
    campaign_complete_if_done,
    campaign_create,
    campaign_delete,
    campaign_launch,
    campaign_ledger_complete,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_update,
)
from apps.campaigns.services.ledger import ledger_build
from apps.campaigns.services.segments import segment_create, segment_delete, segment_update
from apps.campaigns.services.sending import (
    batch_claim,
    batch_run,
    batch_send,
    campaign_test_send,
    deliveries_reap,
    opaque_for,
)
from apps.campaigns.services.statuses import consent_revoke_from_provider, delivery_status_handle
from apps.campaigns.services.templates import (
    stop_button,
    template_create,
    template_delete,
    template_preview,
    template_render,
    template_resolve,
    template_status_apply,
    template_update,
    template_variables,
)

__all__ = [
    "LaunchRefused",
    "TransitionRefused",
    "batch_claim",
    "batch_run",
    "batch_send",
    "campaign_cancel",
    "campaign_complete_if_done",
    "campaign_create",
    "campaign_delete",
    "campaign_launch",
    "campaign_ledger_complete",
    "campaign_pause",
    "campaign_resume",
    "campaign_start",
    "campaign_test_send",
    "campaign_update",
    "consent_revoke_from_provider",
    "deliveries_reap",
    "delivery_status_handle",
    "ledger_build",
    "opaque_for",
    "segment_create",
    "segment_delete",
    "segment_update",
    "stop_button",
    "template_create",
    "template_delete",
    "template_preview",
    "template_render",
    "template_resolve",
    "template_status_apply",
    "template_update",
    "template_variables",
]
