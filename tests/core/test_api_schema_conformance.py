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
from schemathesis import GenerationMode

from portal.wsgi import application
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import CannedResponseFactory, ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory, api_key_for
from tests.factories.tickets import BusinessHoursFactory, MacroFactory, SlaPolicyFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.postgres

# Operations whose schema-valid requests can still be refused with 400, because the rule is about values or
# state that OpenAPI cannot state: an IANA zone name, an E.164 phone, a name already taken, the last admin.
# The refusal must still be a documented 400 with the error envelope; everywhere else a schema-valid request
# is accepted (2xx), or refused by a business rule with 422 (the contract's answer for that).
SEMANTIC_400 = {
    "POST /api/v1/business-hours/": "IANA time zone; several default hours",
    "PATCH /api/v1/business-hours/{id}/": "IANA time zone",
    "PATCH /api/v1/merchant/": "IANA time zone; supported locale",
    "POST /api/v1/contacts/": "E.164 phone, e-mail, IANA zone, typed custom attributes, identity taken",
    "PATCH /api/v1/contacts/{id}/": "E.164 phone, e-mail, IANA zone, typed custom attributes, identity taken",
    "POST /api/v1/contacts/{id}/consents/": "a grant needs the wording shown; an API key cannot be an agent",
    "POST /api/v1/contacts/{id}/merge/": "a contact cannot absorb itself or a merged one",
    "POST /api/v1/contacts/import/": "the CSV's columns must fit the mapping",
    "GET /api/v1/contacts/export.csv": "an `attr:<key>` column names one of the merchant's attribute definitions",
    "POST /api/v1/canned-responses/": "shortcut taken",
    "POST /api/v1/channels/": "secrets required per kind; Meta id already connected",
    "PATCH /api/v1/channels/{id}/": "kind cannot change; Meta id already connected",
    "POST /api/v1/consent-keywords/": "word taken",
    "POST /api/v1/contact-attributes/": "key taken",
    "PATCH /api/v1/conversations/{id}/": "a snooze needs a future wake-up time; the assignee must be an agent",
    "POST /api/v1/conversations/{id}/messages/": "either text or template; the template's variables",
    "PATCH /api/v1/members/{id}/": "a merchant keeps one admin",
    "POST /api/v1/segments/": "the rules' names and values",
    "PATCH /api/v1/segments/{id}/": "the rules' names and values",
    "POST /api/v1/segments/preview/": "the rules' names and values",
    "POST /api/v1/sla-policies/": "at least one target",
    "POST /api/v1/teams/": "name taken",
    "POST /api/v1/templates/": "language code, header medium, name taken",
    "PATCH /api/v1/templates/{id}/": "language code, header medium; a WhatsApp status is Meta's",
    "POST /api/v1/tickets/": "a subject unless a conversation is linked",
    "POST /api/v1/tickets/{ticket_pk}/comments/": "a public reply goes to a conversation linked to the ticket",
    "POST /api/v1/members/invite/": "Django's e-mail check is stricter than the `email` format",
    "POST /api/v1/campaigns/": "template variables mapped to contact fields; frequency cap values",
    "PATCH /api/v1/campaigns/{id}/": "template variables mapped to contact fields; frequency cap values",
    "GET /api/v1/reports/conversations/": "`to` not before `from`; at most 366 days",
    "GET /api/v1/reports/csat/": "`to` not before `from`; at most 366 days",
    "GET /api/v1/reports/sla/": "`to` not before `from`; at most 366 days",
    "GET /api/v1/reports/agents/": "`to` not before `from`; at most 366 days",
    "GET /api/v1/reports/consent/": "`to` not before `from`; at most 366 days",
    "GET /api/v1/reports/campaigns/{id}/funnel/": "`to` not before `from`, both or neither; at most 366 days",
}
ACCEPTED = ["2xx", "401", "403", "404", "409", "422"]

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
            "positive_data_acceptance": {"enabled": True, "expected-statuses": ACCEPTED},
        },
        "operations": [
            {
                "include-name": name,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
            }
            for name in SEMANTIC_400
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)


@pytest.fixture
def fixture_ids(merchant) -> dict[str, int]:
    """One row of every resource, so that generated ids in paths and bodies reach a real object."""
    channel = ChannelFactory(merchant=merchant)
    contact = ContactFactory(merchant=merchant)
    conversation = ConversationFactory(merchant=merchant, channel=channel, contact=contact)
    MessageFactory(conversation=conversation)
    agent = MembershipFactory(merchant=merchant)
    campaign = CampaignFactory(merchant=merchant, channel=channel)
    return {
        "channels": channel.pk,
        "contacts": contact.pk,
        "other-contact": ContactFactory(merchant=merchant).pk,
        "conversations": conversation.pk,
        "canned-responses": CannedResponseFactory(merchant=merchant).pk,
        "templates": TemplateFactory(merchant=merchant).pk,
        "segments": SegmentFactory(merchant=merchant).pk,
        "campaigns": campaign.pk,
        "reports": campaign.pk,  # /reports/campaigns/{id}/funnel/
        "tickets": make_ticket(merchant, contact=contact).pk,
        "other-ticket": make_ticket(merchant, contact=contact).pk,
        "members": agent.pk,
        "agent": agent.user_id,
        "teams": TeamFactory(merchant=merchant).pk,
        "business-hours": BusinessHoursFactory(merchant=merchant).pk,
        "sla-policies": SlaPolicyFactory(merchant=merchant).pk,
        "macros": MacroFactory(merchant=merchant).pk,
    }


# Body fields that name another object, and which fixture row they get.
BODY_REFERENCES = {
    "channel": "channels",
    "contact": "contacts",
    "conversation": "conversations",
    "template": "templates",
    "segment": "segments",
    "team": "teams",
    "escalate_team": "teams",
    "business_hours": "business-hours",
    "macro": "macros",
    "assignee": "agent",
    "target": "other-ticket",  # a ticket is merged into another one
    "source": "other-contact",  # a contact absorbs another one
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


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _resolve_ids(case, ids: dict[str, int]) -> None:
    """In a schema-valid case, generated ids become the fixture's rows; schema-invalid cases are sent as generated."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    # A cursor is the server's own (the boundary row's values, encoded): a generated one is not, and is the
    # documented 400. Schema-valid requests page from the start; schema-invalid ones still send theirs.
    if case.query:
        case.query.pop("cursor", None)
    resource = case.path.removeprefix("/api/v1/").split("/")[0]
    for name, value in case.path_parameters.items():
        key = "tickets" if name == "ticket_pk" else resource
        if _is_id(value) and key in ids:
            case.path_parameters[name] = ids[key]
    if isinstance(case.body, dict):
        _resolve_body_ids(case.body, ids)


def _resolve_body_ids(body: dict, ids: dict[str, int]) -> None:
    for name, key in BODY_REFERENCES.items():
        value = body.get(name)
        if _is_id(value):
            body[name] = ids[key]
        elif name == "template" and isinstance(value, dict) and _is_id(value.get("id")):
            value["id"] = ids[key]  # a message's {"template": {"id": ...}}
    if isinstance(body.get("members"), list):
        body["members"] = [ids["agent"] if _is_id(member) else member for member in body["members"]]


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
