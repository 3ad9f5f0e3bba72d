"""The sandbox switch and the flag: real channels never reach the sandbox, flagged ones never reach Meta."""

from __future__ import annotations

import pytest

from apps.campaigns.models import Delivery, DeliveryState
from apps.campaigns.services import LaunchRefused, campaign_launch, campaign_test_send
from apps.campaigns.services.claim import Claim
from apps.campaigns.services.send_loop import _sender_for, batch_send
from apps.conversations.models import Message
from apps.conversations.providers import SANDBOX_OFF, SANDBOX_OFF_MESSAGE, SandboxOff, get_client, graph_base_url
from apps.conversations.services.delivery import message_deliver
from apps.core.roles import Role
from apps.sandbox.models import SandboxMessage
from tests.factories.campaigns import CampaignFactory, DeliveryFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db


def _queued_reply(channel):
    conversation = ConversationFactory(merchant=channel.merchant, channel=channel, identity="34611222333")
    return MessageFactory(conversation=conversation, direction="outbound", author_kind="agent", status="queued")


def test_the_one_routing_function(merchant, settings):
    real = ChannelFactory(merchant=merchant)
    flagged = ChannelFactory(merchant=merchant, sandbox=True)
    assert graph_base_url(real) == settings.META_GRAPH_API_URL
    assert graph_base_url(flagged) == "http://127.0.0.1:8000/sandbox/graph/v21.0"
    settings.CHARLA_SANDBOX = False
    assert graph_base_url(real) == settings.META_GRAPH_API_URL
    with pytest.raises(SandboxOff, match="the sandbox is switched off"):
        graph_base_url(flagged)
    with pytest.raises(SandboxOff):
        get_client(flagged)


def test_the_inbox_and_the_campaign_sender_both_route_through_it(merchant):
    flagged = ChannelFactory(merchant=merchant, sandbox=True)
    real = ChannelFactory(merchant=merchant)
    assert get_client(flagged).url() == f"http://127.0.0.1:8000/sandbox/graph/v21.0/{flagged.phone_number_id}/messages"
    for channel, base in ((flagged, "http://127.0.0.1:8000/sandbox/graph/v21.0"), (real, "http://127.0.0.1:9/v21.0")):
        sender = _sender_for(CampaignFactory(merchant=merchant, channel=channel))
        try:
            assert sender.url == f"{base}/{channel.phone_number_id}/messages"
        finally:
            sender.close()


def test_a_real_channels_send_goes_to_meta_and_never_to_the_sandbox(merchant, fake_graph):
    real = ChannelFactory(merchant=merchant, access_token="sandbox")  # even with the sandbox's token
    reply = _queued_reply(real)
    assert message_deliver(message_id=reply.pk) == "sent"
    assert [(s["body"]["to"], s["path"]) for s in fake_graph.sent] == [
        ("34611222333", f"/v21.0/{real.phone_number_id}/messages")
    ]
    assert SandboxMessage.objects.count() == 0


def test_with_the_sandbox_off_a_flagged_channels_send_fails_with_a_clear_code(merchant, settings, portal_http):
    settings.CHARLA_SANDBOX = False
    reply = _queued_reply(ChannelFactory(merchant=merchant, sandbox=True))
    assert message_deliver(message_id=reply.pk) == "failed"
    reply = Message.objects.get(pk=reply.pk)
    assert (reply.status, reply.error_code, reply.error_message) == ("failed", SANDBOX_OFF, SANDBOX_OFF_MESSAGE)
    assert portal_http == []  # no request at all, to the sandbox or anywhere


def _campaign(merchant, **kwargs):
    channel = ChannelFactory(merchant=merchant, sandbox=True)
    return CampaignFactory(merchant=merchant, channel=channel, **kwargs)


def test_with_the_sandbox_off_a_sandbox_campaign_is_not_launched(merchant, settings):
    settings.CHARLA_SANDBOX = False
    campaign = _campaign(merchant)
    with pytest.raises(LaunchRefused) as refused:
        campaign_launch(campaign=campaign)
    assert (refused.value.code, refused.value.message) == (SANDBOX_OFF, SANDBOX_OFF_MESSAGE)
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_with_the_sandbox_off_a_test_send_is_refused(merchant, settings):
    settings.CHARLA_SANDBOX = False
    contact = ContactFactory(merchant=merchant)
    IdentityFactory(contact=contact)
    grant(contact)
    with pytest.raises(LaunchRefused) as refused:
        campaign_test_send(campaign=_campaign(merchant), contact=contact)
    assert refused.value.code == SANDBOX_OFF


def test_with_the_sandbox_off_claimed_deliveries_fail_and_nothing_goes_out(merchant, settings, portal_http):
    settings.CHARLA_SANDBOX = False
    campaign = _campaign(merchant, status="running")
    rows = [DeliveryFactory(campaign=campaign, state=DeliveryState.CLAIMED, claim_token="t1") for _ in range(2)]
    claim = Claim(campaign=campaign, token="t1", items=[(row.pk, b"{}") for row in rows], picked=2)
    totals = batch_send(claim=claim)
    assert {kind: count for kind, count in totals.items() if count} == {"failed": 2}
    assert set(Delivery.objects.values_list("state", "error_code")) == {(DeliveryState.FAILED, SANDBOX_OFF)}
    assert portal_http == []


@pytest.mark.parametrize("path", ["/sandbox/", "/sandbox/phone/"])
def test_with_the_sandbox_off_its_pages_are_404(merchant, member_client, settings, path):
    settings.CHARLA_SANDBOX = False
    client = member_client(MembershipFactory(merchant=merchant, role=Role.ADMIN))
    assert client.get(path).status_code == 404


def test_the_sandbox_is_on_by_default_only_under_debug():
    import subprocess
    import sys

    def sandbox_setting(**env) -> str:
        code = "import django.conf as c; from portal import settings as s; print(s.CHARLA_SANDBOX)"
        base = {"DJANGO_SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin"}
        out = subprocess.run(
            [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    assert sandbox_setting(DJANGO_DEBUG="true") == "True"
    assert sandbox_setting(DJANGO_DEBUG="false") == "False"
    assert sandbox_setting(DJANGO_DEBUG="false", CHARLA_SANDBOX="true") == "True"
    assert sandbox_setting(DJANGO_DEBUG="true", CHARLA_SANDBOX="false") == "False"
