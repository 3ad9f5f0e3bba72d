"""The portal wizard's writes: a draft saved step by step, and a launch that needs someone to reach.

Each step validates what it owns and saves it on the draft, so a reload resumes where the marketer was.
The draft goes through the same `campaign_validate` as the API; only its audience may still be missing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.campaigns.models import Campaign, CampaignStatus, Segment
from apps.campaigns.selectors import audience_preview
from apps.campaigns.services.campaigns import (
    FIELDS,
    LaunchRefused,
    TransitionRefused,
    campaign_launch,
    campaign_validate,
)
from apps.campaigns.services.segments import segment_create

DRAFT_OPTIONAL = frozenset({"segment"})


def campaign_draft_create(*, merchant, created_by, **fields) -> Campaign:
    """Step 1: the draft exists once it has a name, a channel and a template with its variables mapped."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    campaign = Campaign(merchant=merchant, created_by=created_by, **fields)
    campaign_validate(campaign, optional=DRAFT_OPTIONAL)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_draft_update(*, campaign: Campaign, **fields) -> Campaign:
    """Any later step (or step 1 again): only drafts change here; scheduled campaigns go through the API."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != CampaignStatus.DRAFT:
        raise TransitionRefused(f"A {locked.status} campaign cannot be edited in the wizard.", "not_editable")
    for key, value in fields.items():
        if key not in FIELDS:
            raise ValidationError({key: ["This field cannot be changed."]})
        setattr(locked, key, value)
    campaign_validate(locked, optional=DRAFT_OPTIONAL)
    locked.save()
    return locked


@transaction.atomic
def campaign_draft_audience(*, campaign: Campaign, segment: Segment | None, name: str = "", rules=None) -> Campaign:
    """Step 2: an existing segment, or the one built inline (saved as a segment, reusable later)."""
    if segment is None:
        segment = segment_create(merchant=campaign.merchant, name=name, rules=rules)
    return campaign_draft_update(campaign=campaign, segment=segment)


def campaign_launch_reachable(*, campaign: Campaign) -> Campaign:
    """The wizard's launch: refused with a clear message when the audience is missing or reaches nobody.

    The API's launch stays as the contract has it (an empty audience completes at once); a marketer who
    clicks Launch on a page that said "0 can receive" has made a mistake worth stopping.
    """
    if campaign.segment_id is None:
        raise LaunchRefused("no_audience", "Pick an audience (step 2) before launching.")
    preview = audience_preview(merchant=campaign.merchant, rules=campaign.segment.rules)
    if preview["reachable"] == 0:
        raise LaunchRefused(
            "nobody_reachable",
            f"Nobody in “{campaign.segment.name}” can receive WhatsApp marketing right now "
            f"({preview['count']} in the audience): launch refused. Change the audience in step 2.",
        )
    return campaign_launch(campaign=campaign)
