import secrets

import factory
from django.utils import timezone

from apps.contacts.models import ContactIdentity
from apps.conversations.models import (
    AuthorKind,
    CannedResponse,
    Channel,
    ChannelKind,
    Conversation,
    Message,
    MessageDirection,
    MessageStatus,
)
from tests.factories.contacts import ContactFactory
from tests.factories.merchants import MerchantFactory


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    merchant = factory.SubFactory(MerchantFactory)
    kind = ChannelKind.WHATSAPP
    name = factory.Sequence(lambda n: f"Channel {n}")
    phone_number_id = factory.LazyAttribute(
        lambda o: f"2093847{secrets.randbelow(10**8):08d}" if o.kind == ChannelKind.WHATSAPP else ""
    )
    page_id = factory.LazyAttribute(
        lambda o: f"1182736{secrets.randbelow(10**8):08d}" if o.kind == ChannelKind.MESSENGER else ""
    )
    access_token = factory.LazyFunction(lambda: "EAAG" + secrets.token_hex(16))
    app_secret = factory.LazyFunction(lambda: secrets.token_hex(16))
    verify_token = factory.LazyFunction(lambda: "verify-" + secrets.token_hex(4))

    class Params:
        # What the demo seed creates: talks to the built-in fake Graph API (apps/sandbox), token "sandbox".
        sandbox = factory.Trait(access_token="sandbox", settings=factory.LazyFunction(lambda: {"sandbox": True}))


class ConversationFactory(factory.django.DjangoModelFactory):
    """A conversation whose contact has an identity on the channel (so replies have a recipient)."""

    class Meta:
        model = Conversation
        skip_postgeneration_save = True

    merchant = factory.SubFactory(MerchantFactory)
    channel = factory.SubFactory(ChannelFactory, merchant=factory.SelfAttribute("..merchant"))
    contact = factory.SubFactory(ContactFactory, merchant=factory.SelfAttribute("..merchant"))
    last_inbound_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def identity(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            external_id = extracted or obj.contact.phone.lstrip("+") or secrets.token_hex(6)
            ContactIdentity.objects.get_or_create(
                merchant=obj.merchant, contact=obj.contact, kind=obj.channel.kind, external_id=external_id
            )
        if create and obj.channel.kind == ChannelKind.WEBCHAT and not obj.visitor_id:
            _visitor_id_of_contact(obj)


def _visitor_id_of_contact(conversation: Conversation) -> None:
    """A web chat is its contact's browser's when the contact has one (as the visitor_id backfill decides)."""
    browsers = list(
        ContactIdentity.objects.filter(contact=conversation.contact, kind=ChannelKind.WEBCHAT).values_list(
            "external_id", flat=True
        )
    )
    if len(browsers) == 1:
        conversation.visitor_id = browsers[0]
        Conversation.objects.filter(pk=conversation.pk).update(visitor_id=browsers[0])


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    merchant = factory.SelfAttribute("conversation.merchant")
    channel = factory.SelfAttribute("conversation.channel")
    direction = MessageDirection.INBOUND
    author_kind = AuthorKind.CONTACT
    body = factory.Sequence(lambda n: f"Message {n}")
    status = MessageStatus.RECEIVED


class CannedResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedResponse

    merchant = factory.SubFactory(MerchantFactory)
    shortcut = factory.Sequence(lambda n: f"reply-{n}")
    title = "Greeting"
    body = "Hello! How can we help?"
