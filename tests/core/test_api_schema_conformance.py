"""The OpenAPI schema at /api/schema/ tells the truth: schemathesis fuzzes every operation against it.

Each operation gets a bounded, deterministic run (fixed seed, derandomized Hypothesis) of
schema-valid and schema-invalid requests made with a real API key on PostgreSQL. A response that
is a 500, has a status code, content type, headers or body the schema does not list, a valid
request refused, or an invalid one accepted, fails the operation's test.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.views import APIView

from portal.wsgi import application
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import CannedResponseFactory, ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory, api_key_for
from tests.factories.tickets import BusinessHoursFactory, MacroFactory, SlaPolicyFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.postgres

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261201,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {"max-examples": 10, "deterministic": True},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
            "positive_data_acceptance": {"enabled": True},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


@pytest.fixture
def fixture_ids(merchant) -> dict[str, int]:
    """One row of every resource, so that generated paths with an id reach a real object."""
    channel = ChannelFactory(merchant=merchant)
    contact = ContactFactory(merchant=merchant)
    conversation = ConversationFactory(merchant=merchant, channel=channel, contact=contact)
    MessageFactory(conversation=conversation)
    campaign = CampaignFactory(merchant=merchant, channel=channel)
    ticket = make_ticket(merchant, contact=contact)
    member = MembershipFactory(merchant=merchant)
    return {
        "channels": channel.pk,
        "contacts": contact.pk,
        "conversations": conversation.pk,
        "canned-responses": CannedResponseFactory(merchant=merchant).pk,
        "templates": TemplateFactory(merchant=merchant).pk,
        "segments": SegmentFactory(merchant=merchant).pk,
        "campaigns": campaign.pk,
        "tickets": ticket.pk,
        "members": member.pk,
        "teams": TeamFactory(merchant=merchant).pk,
        "business-hours": BusinessHoursFactory(merchant=merchant).pk,
        "sla-policies": SlaPolicyFactory(merchant=merchant).pk,
        "macros": MacroFactory(merchant=merchant).pk,
    }


@pytest.fixture
def no_throttling(monkeypatch):
    # Hundreds of requests from one key in seconds: the rate limit is its own tests' subject.
    monkeypatch.setattr(APIView, "throttle_classes", [])


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests go through the real WSGI handler, which would close the test's connection after each one."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _resolve_ids(case, ids: dict[str, int]) -> None:
    """A generated integer id is replaced by the fixture row of that resource (invalid ids stay as generated)."""
    resource = case.path.removeprefix("/api/v1/").split("/")[0]
    for name, value in case.path_parameters.items():
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        key = "tickets" if name == "ticket_pk" else resource
        if key in ids:
            case.path_parameters[name] = ids[key]


@pytest.fixture
def auth_header(merchant) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key_for(merchant)}"}


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixture rows are meant to be shared
def test_every_operation_conforms_to_the_schema(
    case, fixture_ids, auth_header, no_throttling, wsgi_in_test_transaction
):
    _resolve_ids(case, fixture_ids)
    case.call_and_validate(headers=auth_header)
