"""Writes for apps.campaigns."""

from apps.campaigns.services.campaigns import (
    LaunchRefused,
    TransitionRefused,
    campaign_cancel,
    campaign_create,
    campaign_delete,
    campaign_launch,
    campaign_ledger_complete,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_update,
)
from apps.campaigns.services.claim import batch_claim, opaque_for
from apps.campaigns.services.completion import campaign_complete_if_done
from apps.campaigns.services.ledger import ledger_build
from apps.campaigns.services.reaper import deliveries_reap
from apps.campaigns.services.scheduler import campaign_dispatch, campaign_send_chain, campaigns_tick
from apps.campaigns.services.segments import segment_create, segment_delete, segment_update
from apps.campaigns.services.send_loop import batch_loop, batch_run, batch_send
from apps.campaigns.services.statuses import consent_revoke_from_provider, delivery_status_handle
from apps.campaigns.services.templates import (
    stop_button,
    template_category_apply,
    template_create,
    template_delete,
    template_preview,
    template_resolve,
    template_status_apply,
    template_update,
)
from apps.campaigns.services.trial_send import campaign_test_send
from apps.campaigns.services.wizard import (
    campaign_draft_audience,
    campaign_draft_create,
    campaign_draft_update,
    campaign_launch_reachable,
)

__all__ = [
    "LaunchRefused",
    "TransitionRefused",
    "batch_claim",
    "batch_loop",
    "batch_run",
    "batch_send",
    "campaign_cancel",
    "campaign_complete_if_done",
    "campaign_create",
    "campaign_delete",
    "campaign_dispatch",
    "campaign_draft_audience",
    "campaign_draft_create",
    "campaign_draft_update",
    "campaign_launch",
    "campaign_launch_reachable",
    "campaign_ledger_complete",
    "campaign_pause",
    "campaign_resume",
    "campaign_send_chain",
    "campaign_start",
    "campaign_test_send",
    "campaign_update",
    "campaigns_tick",
    "consent_revoke_from_provider",
    "deliveries_reap",
    "delivery_status_handle",
    "ledger_build",
    "opaque_for",
    "segment_create",
    "segment_delete",
    "segment_update",
    "stop_button",
    "template_category_apply",
    "template_create",
    "template_delete",
    "template_preview",
    "template_resolve",
    "template_status_apply",
    "template_update",
]
