"""The tickets API: payloads, filters, errors, capabilities, cross-merchant 404s, query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations.models import Message
from apps.tickets.models import BusinessHours, SlaPolicy, Team, Ticket, TicketStatus
from tests.factories.conversations import ConversationFactory, MessageFactory
from tests.factories.tickets import BusinessHoursFactory, MacroFactory, SlaPolicyFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.django_db


def test_list_shape_and_sla_fields(api, merchant):
    SlaPolicyFactory(merchant=merchant, business_hours=BusinessHoursFactory(merchant=merchant))
    conversation = ConversationFactory(merchant=merchant)
    ticket = make_ticket(merchant, conversations=[conversation], tags=["refund"])
    response = api.get("/api/v1/tickets/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    item = body["results"][0]
    assert item["id"] == ticket.pk and item["number"] == ticket.number
    assert item["conversation"] == conversation.pk and item["contact"] == conversation.contact_id
    assert item["status"] == "new" and item["priority"] == "normal" and item["tags"] == ["refund"]
    assert item["first_response_due_at"] is not None and item["resolution_due_at"] is not None
    assert item["next_response_due_at"] is None
    assert item["first_response_breached"] is False
    assert item["csat"] == {"rating": None, "comment": "", "answered_at": None, "sent_at": None, "sent_via": ""}


def test_list_query_count_is_constant(api, merchant, django_assert_max_num_queries):
    team = TeamFactory(merchant=merchant)
    for _ in range(5):
        make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)], team=team)
    with django_assert_max_num_queries(4):  # key lookup, key touch, page, (throttle cache is not the db)
        first = api.get("/api/v1/tickets/")
    for _ in range(15):
        make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)], team=team)
    with django_assert_max_num_queries(4):
        second = api.get("/api/v1/tickets/")
    assert len(first.json()["results"]) == 5 and len(second.json()["results"]) == 20


def test_filters_and_cursor_pagination(api, merchant, agent_membership):
    agent = agent_membership.user
    urgent = make_ticket(merchant, priority="urgent", assignee=agent)
    make_ticket(merchant, priority="low")
    assert [t["id"] for t in api.get("/api/v1/tickets/?priority=urgent").json()["results"]] == [urgent.pk]
    assert [t["id"] for t in api.get(f"/api/v1/tickets/?assignee={agent.pk}").json()["results"]] == [urgent.pk]
    page = api.get("/api/v1/tickets/?page_size=1").json()
    assert len(page["results"]) == 1 and page["next"]
    assert api.get(page["next"]).json()["results"][0]["id"] != page["results"][0]["id"]


@pytest.mark.parametrize("query", ["status=nope", "priority=max", "assignee=abc", "queue=everything"])
def test_bad_filters_are_400_naming_the_parameter(api, query):
    response = api.get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["error"]["fields"]


def test_create_and_update(api, merchant, agent_membership):
    team = TeamFactory(merchant=merchant)
    response = api.post(
        "/api/v1/tickets/",
        {"subject": "Refund order 42", "priority": "high", "team": team.pk, "assignee": agent_membership.user.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == 1 and body["team"] == team.pk and body["assignee"] == agent_membership.user.pk
    response = api.patch(f"/api/v1/tickets/{body['id']}/", {"status": "pending", "tags": ["x"]}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "pending" and response.json()["sla_paused"] is True
    events = api.get(f"/api/v1/tickets/{body['id']}/events/").json()["results"]
    assert {e["kind"] for e in events} == {"created", "changed"}
    assert events[0]["actor"]["label"].startswith("API key")


def test_create_from_conversation_copies_transcript(api, merchant):
    conversation = ConversationFactory(merchant=merchant)
    MessageFactory(conversation=conversation, body="The box was crushed")
    response = api.post("/api/v1/tickets/", {"conversation": conversation.pk}, format="json")
    assert response.status_code == 201
    assert "The box was crushed" in response.json()["description"]
    assert response.json()["conversation"] == conversation.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "subject"),
        ({"subject": "x", "priority": "p9"}, "priority"),
        ({"subject": "x", "status": "solved"}, "status"),
    ],
)
def test_create_errors(api, payload, field):
    response = api.post("/api/v1/tickets/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Ticket.objects.exists()


def test_other_merchants_references_are_refused(api, merchant, other_merchant):
    foreign_team = TeamFactory(merchant=other_merchant)
    foreign_conv = ConversationFactory(merchant=other_merchant)
    for payload, field in [({"team": foreign_team.pk}, "team"), ({"conversation": foreign_conv.pk}, "conversation")]:
        response = api.post("/api/v1/tickets/", {"subject": "x", **payload}, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_other_merchants_ticket_is_404(api, other_merchant):
    ticket = make_ticket(other_merchant)
    for path in (
        f"/api/v1/tickets/{ticket.pk}/",
        f"/api/v1/tickets/{ticket.pk}/comments/",
        f"/api/v1/tickets/{ticket.pk}/events/",
    ):
        assert api.get(path).status_code == 404
    assert api.patch(f"/api/v1/tickets/{ticket.pk}/", {"status": "open"}, format="json").status_code == 404
    assert api.post(f"/api/v1/tickets/{ticket.pk}/comments/", {"body": "x"}, format="json").status_code == 404


def test_comments_public_and_internal(api, merchant):
    conversation = ConversationFactory(merchant=merchant)
    ticket = make_ticket(merchant, conversations=[conversation])
    response = api.post(f"/api/v1/tickets/{ticket.pk}/comments/", {"body": "internal"}, format="json")
    assert response.status_code == 201 and response.json()["public"] is False
    response = api.post(f"/api/v1/tickets/{ticket.pk}/comments/", {"body": "Hello!", "public": True}, format="json")
    assert response.status_code == 201 and response.json()["message"] == Message.objects.get(body="Hello!").pk
    assert [c["body"] for c in api.get(f"/api/v1/tickets/{ticket.pk}/comments/").json()["results"]] == [
        "Hello!",
        "internal",
    ]


def test_refused_public_reply_is_422_with_the_policy_code(api, merchant):
    old = ConversationFactory(merchant=merchant, last_inbound_at=timezone.now() - timedelta(days=2))
    ticket = make_ticket(merchant, conversations=[old])
    response = api.post(f"/api/v1/tickets/{ticket.pk}/comments/", {"body": "Hi", "public": True}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "outside_service_window"
    assert not ticket.comments.exists()


def test_merge_and_macro_actions(api, merchant):
    a, b = make_ticket(merchant), make_ticket(merchant)
    macro = MacroFactory(merchant=merchant, set_priority="urgent")
    assert api.post(f"/api/v1/tickets/{a.pk}/apply-macro/", {"macro": macro.pk}, format="json").json()["priority"] == (
        "urgent"
    )
    response = api.post(f"/api/v1/tickets/{a.pk}/merge/", {"target": b.pk}, format="json")
    assert response.status_code == 200 and response.json()["id"] == b.pk
    a.refresh_from_db()
    assert a.status == TicketStatus.CLOSED and a.merged_into == b
    again = api.post(f"/api/v1/tickets/{a.pk}/merge/", {"target": b.pk}, format="json")
    assert again.status_code == 422 and again.json()["error"]["code"] == "merge_source_closed"


def test_settings_resources_crud(api, merchant):
    hours = api.post(
        "/api/v1/business-hours/",
        {
            "name": "Madrid",
            "timezone": "Europe/Madrid",
            "is_default": True,
            "periods": [
                {"weekday": 0, "start": "09:00", "end": "13:00"},
                {"weekday": 0, "start": "15:00", "end": "19:00"},
            ],
            "holidays": ["2026-12-25"],
        },
        format="json",
    )
    assert hours.status_code == 201, hours.json()
    bad = api.post(
        "/api/v1/business-hours/",
        {"name": "Bad", "timezone": "Mars/Olympus", "periods": [{"weekday": 0, "start": "10:00", "end": "09:00"}]},
        format="json",
    )
    assert bad.status_code == 400 and {"timezone", "periods"} <= set(bad.json()["error"]["fields"])
    team = api.post("/api/v1/teams/", {"name": "Refunds"}, format="json")
    assert team.status_code == 201
    policy = api.post(
        "/api/v1/sla-policies/",
        {
            "name": "Normal",
            "priority": "normal",
            "first_response_minutes": 60,
            "business_hours": hours.json()["id"],
            "escalate_team": team.json()["id"],
        },
        format="json",
    )
    assert policy.status_code == 201, policy.json()
    no_target = api.post("/api/v1/sla-policies/", {"name": "Empty", "priority": "low"}, format="json")
    assert no_target.status_code == 400
    duplicate = api.post("/api/v1/teams/", {"name": "Refunds"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["error"]["fields"]
    assert api.delete(f"/api/v1/teams/{team.json()['id']}/").status_code == 204
    assert (BusinessHours.objects.count(), SlaPolicy.objects.count(), Team.objects.count()) == (1, 1, 0)


def test_agents_read_settings_but_only_admins_write(member_client, agent_membership, marketer_membership, merchant):
    agent = member_client(agent_membership)
    assert agent.get("/api/v1/sla-policies/").status_code == 200
    assert agent.post("/api/v1/teams/", {"name": "x"}, content_type="application/json").status_code == 403
    assert agent.get("/api/v1/tickets/").status_code == 200
    marketer = member_client(marketer_membership)
    assert marketer.get("/api/v1/tickets/").status_code == 403
    assert marketer.get("/api/v1/teams/").status_code == 403


def test_unauthenticated_is_401(client):
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401  # ApiKeyAuthentication comes first and names its scheme
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_link_another_conversation(api, merchant, other_merchant):
    ticket = make_ticket(merchant)
    conversation = ConversationFactory(merchant=merchant)
    response = api.post(f"/api/v1/tickets/{ticket.pk}/link/", {"conversation": conversation.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["conversation"] == conversation.pk
    assert response.json()["contact"] == conversation.contact_id  # the ticket had no requester yet
    foreign = ConversationFactory(merchant=other_merchant)
    response = api.post(f"/api/v1/tickets/{ticket.pk}/link/", {"conversation": foreign.pk}, format="json")
    assert response.status_code == 400 and "conversation" in response.json()["error"]["fields"]


def test_list_query_count_is_exact_for_1_and_20_tickets(api, merchant, django_assert_num_queries):
    team = TeamFactory(merchant=merchant)
    make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)], team=team)
    api.get("/api/v1/tickets/")  # warm the key's last-used write
    with django_assert_num_queries(2) as one:  # the key (its touch is throttled), the page
        first = api.get("/api/v1/tickets/")
    for _ in range(19):
        make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)], team=team)
    with django_assert_num_queries(len(one.captured_queries)):
        second = api.get("/api/v1/tickets/")
    assert len(first.json()["results"]) == 1 and len(second.json()["results"]) == 20
