from django.urls import reverse

from apps.campaigns.models import Campaign, CampaignStatus
from apps.core.roles import Capability
from apps.core.selectors import DashboardCard


def campaign_cards(*, merchant) -> list[DashboardCard]:
    active = Campaign.objects.for_merchant(merchant).filter(
        status__in=[CampaignStatus.SCHEDULED, CampaignStatus.RUNNING]
    )
    return [DashboardCard("Active campaigns", str(active.count()), reverse("campaigns:list"), Capability.CAMPAIGNS)]
