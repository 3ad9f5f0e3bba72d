from apps.campaigns.models import Delivery
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory

SECRET = "SWEEP-SECRET"


def _template(owner):
    return TemplateFactory(
        merchant=owner, body=f"{SECRET} {{{{first_name}}}}", name=f"sweep_{TemplateFactory._meta.model.objects.count()}"
    )


def _segment(owner):
    return SegmentFactory(merchant=owner, name=SECRET)


def _campaign(owner):
    campaign = CampaignFactory(merchant=owner, name=SECRET, segment=_segment(owner), template=_template(owner))
    contact = ContactFactory(merchant=owner, name=SECRET)
    Delivery.objects.create(merchant=owner, campaign=campaign, contact=contact, error_message=SECRET)
    return campaign


def _pk(factory):
    return lambda owner: {"pk": factory(owner).pk}


def _campaign_id(owner):
    return {"campaign_id": _campaign(owner).pk}


ROUTES = {
    "api:template-detail": _pk(_template),
    "api:template-preview": _pk(_template),
    "api:segment-detail": _pk(_segment),
    "api:campaign-detail": _pk(_campaign),
    "api:campaign-launch": _pk(_campaign),
    "api:campaign-pause": _pk(_campaign),
    "api:campaign-resume": _pk(_campaign),
    "api:campaign-cancel": _pk(_campaign),
    "api:campaign-stats": _pk(_campaign),
    "api:campaign-test-send": _pk(_campaign),
    "api:campaign-deliveries": _pk(_campaign),
    "campaigns:detail": _campaign_id,
    "campaigns:launch": _campaign_id,
    "campaigns:pause": _campaign_id,
    "campaigns:resume": _campaign_id,
    "campaigns:cancel": _campaign_id,
    "campaigns:test_send": _campaign_id,
    "campaigns:export": _campaign_id,
    "campaigns:wizard_template": _campaign_id,
    "campaigns:wizard_audience": _campaign_id,
    "campaigns:wizard_schedule": _campaign_id,
    "campaigns:wizard_review": _campaign_id,
    "campaigns:wizard_launch": _campaign_id,
    "campaigns:test_contacts": _campaign_id,
    "campaigns:template_preview": lambda owner: {"template_id": _template(owner).pk},
    "campaigns:segment_edit": lambda owner: {"segment_id": _segment(owner).pk},
}

SOCKET_ROUTES = {
    "ws/campaigns/<int:campaign_id>/": _campaign_id,
}
