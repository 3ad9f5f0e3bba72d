"""Every reports route with path parameters, with a builder creating the owner's object."""

from tests.factories.campaigns import CampaignFactory


def _campaign(owner):
    return {"campaign_id": CampaignFactory(merchant=owner, name="SWEEP-SECRET campaign").pk}


def _campaign_pk(owner):
    return {"pk": CampaignFactory(merchant=owner, name="SWEEP-SECRET campaign").pk}


ROUTES = {
    "reports:campaign_funnel": _campaign,
    "reports:campaign_funnel_csv": _campaign,
    "api:report-campaign-funnel": _campaign_pk,
}
