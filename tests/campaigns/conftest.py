import pytest

from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory


@pytest.fixture
def eager():
    """Celery tasks run in place, as soon as they are enqueued."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def channel(merchant):
    return ChannelFactory(merchant=merchant, name="Shop WhatsApp")


@pytest.fixture
def template(merchant):
    return TemplateFactory(merchant=merchant)


@pytest.fixture
def make_contact(merchant):
    """make_contact(consent="granted"|"pending"|"revoked"|None, tags=[...], tz="", wa=True)."""

    def make(consent="granted", tags=None, tz="", wa=True, **fields):
        contact = ContactFactory(merchant=merchant, tags=tags or [], timezone=tz, **fields)
        if wa:
            IdentityFactory(merchant=merchant, contact=contact, external_id=contact.phone.lstrip("+"))
        if consent in ("granted", "pending"):
            grant(contact, double_opt_in=consent == "pending")
        elif consent == "revoked":
            grant(contact)
            from apps.contacts.services import consent_record

            consent_record(
                merchant=merchant,
                contact=contact,
                channel="whatsapp",
                purpose="marketing",
                action="revoke",
                source="keyword",
            )
        return contact

    return make


@pytest.fixture
def make_campaign(merchant, channel, template):
    def make(rules=None, **fields):
        segment = SegmentFactory(merchant=merchant, rules=rules or {})
        fields.setdefault("throttle_per_second", 0)
        return CampaignFactory(
            merchant=merchant, channel=channel, template=fields.pop("template", template), segment=segment, **fields
        )

    return make
