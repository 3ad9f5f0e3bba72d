import factory

from apps.contacts.models import (
    AttributeDefinition,
    AttributeType,
    Contact,
    ContactIdentity,
    IdentityKind,
)
from tests.factories.merchants import MerchantFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    phone = factory.Sequence(lambda n: f"+3460{n:07d}")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactIdentity

    contact = factory.SubFactory(ContactFactory)
    merchant = factory.SelfAttribute("contact.merchant")
    kind = IdentityKind.WHATSAPP
    external_id = factory.Sequence(lambda n: f"3461{n:07d}")


class AttributeDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributeDefinition

    merchant = factory.SubFactory(MerchantFactory)
    key = factory.Sequence(lambda n: f"attr_{n}")
    label = factory.Sequence(lambda n: f"Attribute {n}")
    type = AttributeType.TEXT


def grant(contact, channel="whatsapp", purpose="marketing", **kwargs):
    """Record a consent grant through the real service (the only way to write the ledger)."""
    from apps.contacts.services import consent_record

    kwargs.setdefault("source", "web_form")
    kwargs.setdefault("wording", "Send me offers from Acme on WhatsApp")
    return consent_record(
        merchant=contact.merchant, contact=contact, channel=channel, purpose=purpose, action="grant", **kwargs
    )
