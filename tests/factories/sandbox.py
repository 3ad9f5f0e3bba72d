import factory

from apps.meta import simulate
from apps.meta.payloads import template_buttons, whatsapp_template_payload, whatsapp_text_payload
from apps.sandbox.models import Direction, SandboxMessage
from tests.factories.conversations import ChannelFactory


class SandboxMessageFactory(factory.django.DjangoModelFactory):
    """A send the fake Graph API accepted (a text unless `payload` says otherwise)."""

    class Meta:
        model = SandboxMessage

    channel = factory.SubFactory(ChannelFactory, sandbox=True)
    merchant = factory.SelfAttribute("channel.merchant")
    direction = Direction.TO_CUSTOMER
    address = factory.Sequence(lambda n: f"3462{n:07d}")
    payload = factory.LazyAttribute(lambda o: whatsapp_text_payload(o.address, "Your order has shipped."))
    kind = factory.LazyAttribute(lambda o: o.payload.get("type", "text"))
    provider_message_id = factory.LazyFunction(simulate.whatsapp_message_id)


def template_send(template, to: str, params: dict | None = None) -> dict:
    """The body a campaign posts for `template` (its quick replies carry their payloads)."""
    buttons = template_buttons(quick_replies=[b["payload"] for b in template.buttons])
    return whatsapp_template_payload(to, template.name, template.language, params=params, buttons=buttons)
