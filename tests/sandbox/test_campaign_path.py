"""A campaign batch on a sandbox channel: the real aiohttp batch sender against the portal's own fake Graph API.

The portal runs under uvicorn in a thread (tests/asgi_server.py); Celery is eager, so the sandbox records the
send and posts its status webhooks inside the server's request, and campaigns' status subscriber moves the
delivery on, as a status from Meta would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.send_body import campaign_send_body
from apps.campaigns.services.claim import Claim, opaque_for
from apps.campaigns.services.send_loop import batch_send
from apps.meta.batch import payload_bytes
from apps.sandbox.models import SandboxMessage
from tests.asgi_server import portal_server
from tests.factories.campaigns import CampaignFactory, DeliveryFactory, TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)

WA_ID = "34611222333"


def test_a_campaign_batch_on_a_sandbox_channel_is_sent_to_the_sandbox_and_read(settings, eager):
    merchant = MerchantFactory()
    channel = ChannelFactory(merchant=merchant, sandbox=True)
    template = TemplateFactory(merchant=merchant, body="Hola {{first_name}}, 20% off this week.")
    campaign = CampaignFactory(merchant=merchant, channel=channel, template=template, status="running")
    contact = ContactFactory(merchant=merchant, name="Marta", phone=f"+{WA_ID}")
    IdentityFactory(contact=contact, external_id=WA_ID)
    grant(contact)
    lease = timezone.now() + timedelta(minutes=5)
    delivery = DeliveryFactory(
        campaign=campaign, contact=contact, state=DeliveryState.CLAIMED, claim_token="t1", lease_expires_at=lease
    )
    body = campaign_send_body(
        template=template, to=WA_ID, values={"first_name": "Marta"}, opaque=opaque_for(delivery.pk)
    )
    claim = Claim(
        campaign=campaign, token="t1", items=[(delivery.pk, payload_bytes(body))], contacts={delivery.pk: contact.pk},
        picked=1, lease_until=lease,
    )  # fmt: skip
    with portal_server() as portal:
        settings.CHARLA_SANDBOX_GRAPH_URL = f"{portal.url}/sandbox/graph/v21.0"
        totals = batch_send(claim=claim)
    assert totals["sent"] == 1
    recorded = SandboxMessage.objects.get()
    delivery = Delivery.objects.get(pk=delivery.pk)
    assert (recorded.kind, recorded.address, recorded.payload) == ("template", WA_ID, body)
    assert (delivery.provider_message_id, recorded.status) == (recorded.provider_message_id, "read")
    assert delivery.state == DeliveryState.READ
