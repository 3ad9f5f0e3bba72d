import factory

from apps.campaigns.models import Campaign, Delivery, MessageTemplate, Segment, TemplateStatus
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import MerchantFactory


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"spring_sale_{n}")
    channel_kind = "whatsapp"
    category = "marketing"
    language = "es_ES"
    body = "Hola {{first_name}}, 20% off this week."
    status = TemplateStatus.APPROVED
    buttons = factory.LazyFunction(lambda: [{"text": "Stop promotions", "payload": "STOP_PROMOTIONS"}])


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")
    rules = factory.LazyFunction(dict)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = factory.SubFactory(ChannelFactory, merchant=factory.SelfAttribute("..merchant"))
    template = factory.SubFactory(TemplateFactory, merchant=factory.SelfAttribute("..merchant"))
    segment = factory.SubFactory(SegmentFactory, merchant=factory.SelfAttribute("..merchant"))
    params = factory.LazyFunction(lambda: {"first_name": "first_name"})
    fallbacks = factory.LazyFunction(lambda: {"first_name": "there"})


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    campaign = factory.SubFactory(CampaignFactory)
    merchant = factory.SelfAttribute("campaign.merchant")
    contact = factory.SubFactory(ContactFactory, merchant=factory.SelfAttribute("..merchant"))
