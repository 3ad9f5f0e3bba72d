"""Portal pages: roles, the list's query count, the ticket page, settings forms, the public CSAT page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.tickets.models import BusinessHours, Macro, SavedFilter, SlaPolicy, Ticket, TicketStatus
from apps.tickets.services import ticket_comment_add, ticket_link_conversation, ticket_update
from apps.tickets.services.csat import csat_token
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ConversationFactory, MessageFactory
from tests.factories.tickets import BusinessHoursFactory, MacroFactory, SlaPolicyFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(member_client, agent_membership):
    return member_client(agent_membership)


@pytest.fixture
def admin(member_client, admin_membership):
    return member_client(admin_membership)


def test_agent_sees_the_list_and_marketer_gets_403(agent_client, member_client, marketer_membership, merchant):
    make_ticket(merchant, subject="Parcel lost")
    response = agent_client.get(reverse("tickets:list"))
    assert response.status_code == 200 and b"Parcel lost" in response.content
    marketer = member_client(marketer_membership)
    assert marketer.get(reverse("tickets:list")).status_code == 403
    ticket = Ticket.objects.get()
    assert marketer.get(reverse("tickets:detail", args=[ticket.pk])).status_code == 403
    assert marketer.post(reverse("tickets:comment", args=[ticket.pk]), {"body": "x"}).status_code == 403


def test_settings_pages_are_for_admins(agent_client, admin):
    for slug in ("hours", "policies", "teams", "macros"):
        url = reverse(f"tickets:{slug}_list")
        assert agent_client.get(url).status_code == 403
        assert admin.get(url).status_code == 200


def test_list_query_count_does_not_grow(agent_client, merchant, agent_membership, django_assert_max_num_queries):
    SlaPolicyFactory(merchant=merchant)
    team = TeamFactory(merchant=merchant)

    def add(n):
        for _ in range(n):
            conversation = ConversationFactory(merchant=merchant)
            make_ticket(merchant, conversations=[conversation], team=team, assignee=agent_membership.user)

    add(3)
    with django_assert_max_num_queries(12) as small:
        agent_client.get(reverse("tickets:list"))
    add(20)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = agent_client.get(reverse("tickets:list") + "?queue=mine&sort=due")
    assert response.content.count(b'class="sla sla-due"') == 23


def test_queue_filters(agent_client, merchant, agent_membership):
    mine = make_ticket(merchant, subject="Mine", assignee=agent_membership.user)
    make_ticket(merchant, subject="Nobody's")
    body = agent_client.get(reverse("tickets:list") + "?queue=mine").content
    assert b"Mine" in body and b"Nobody&#x27;s" not in body
    body = agent_client.get(reverse("tickets:list") + "?queue=unassigned").content
    assert b"Nobody&#x27;s" in body and f"#{mine.number}<".encode() not in body
    assert agent_client.get(reverse("tickets:list") + "?status=bogus").status_code == 200  # message, not a 500


def test_breaching_queue_lists_tickets_due_within_the_hour(agent_client, merchant):
    SlaPolicyFactory(merchant=merchant, first_response_minutes=30)
    soon = make_ticket(merchant, subject="Due soon")
    SlaPolicyFactory(merchant=merchant, name="Low", priority="low", first_response_minutes=600)
    make_ticket(merchant, subject="Plenty of time", priority="low")
    body = agent_client.get(reverse("tickets:list") + "?queue=breaching").content
    assert b"Due soon" in body and b"Plenty of time" not in body
    assert soon.first_response_due_at is not None


def test_saved_filters_are_per_user(agent_client, merchant, agent_membership):
    response = agent_client.post(reverse("tickets:filter_save"), {"name": "Urgent", "query": "priority=urgent&x=1"})
    assert response.status_code == 302
    saved = SavedFilter.objects.get()
    assert (saved.user, saved.params) == (agent_membership.user, {"priority": "urgent"})
    assert b"Urgent" in agent_client.get(reverse("tickets:list")).content


def test_create_ticket_from_the_list(agent_client, merchant):
    response = agent_client.post(reverse("tickets:new"), {"subject": "Wrong size", "priority": "high", "tags": "a, b"})
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("tickets:detail", args=[ticket.pk])
    assert ticket.tags == ["a", "b"] and ticket.priority == "high"
    bad = agent_client.post(reverse("tickets:new"), {"subject": "", "requester": "nobody@example.test"})
    assert bad.status_code == 400 and Ticket.objects.count() == 1
    assert bad.context["form"].errors["requester"] == ["Pick the requester from the search results."]


def test_requester_is_searched_among_this_merchants_contacts_only(
    agent_client, merchant, other_merchant, django_assert_num_queries
):
    ana = ContactFactory(merchant=merchant, name="Ana Ruiz", email="ana@x.test", phone="")
    ContactFactory(merchant=merchant, name="Bob", email="bob@x.test", phone="")
    ContactFactory(merchant=other_merchant, name="Ana Other", email="ana@other.test", phone="")
    url = reverse("tickets:requester_search")
    with django_assert_num_queries(5):  # session, user, membership, contacts, their identities
        html = agent_client.get(url, {"requester_q": "ana"}).content.decode()
    assert html.count('type="radio" name="requester"') == 1
    assert f'value="{ana.pk}"' in html and "Ana Ruiz · ana@x.test" in html
    assert "Other" not in html
    assert agent_client.get(url, {"requester_q": "a"}).content.decode().strip() == ""
    assert "No contact matches “zed”." in agent_client.get(url, {"requester_q": "zed"}).content.decode()


def test_the_picked_requester_is_the_tickets_contact(agent_client, merchant, other_merchant):
    ana = ContactFactory(merchant=merchant, name="Ana")
    page = agent_client.get(reverse("tickets:new")).content.decode()
    assert 'name="requester_q"' in page and f'hx-get="{reverse("tickets:requester_search")}"' in page
    assert 'aria-describedby="id_requester_helptext" id="id_requester"' in page
    assert "<select" not in page.split('id="id_requester"')[1].split("</div>")[0]
    response = agent_client.post(
        reverse("tickets:new"), {"subject": "Refund", "priority": "normal", "requester": ana.pk}
    )
    assert response.status_code == 302
    assert Ticket.objects.get().contact == ana


def test_another_merchants_contact_cannot_be_the_requester(agent_client, other_merchant):
    stranger = ContactFactory(merchant=other_merchant, name="Stranger")
    response = agent_client.post(
        reverse("tickets:new"), {"subject": "X", "priority": "normal", "requester": stranger.pk}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["requester"] == ["Pick the requester from the search results."]
    assert not Ticket.objects.exists()


def test_a_refused_form_shows_the_picked_requester_again(agent_client, merchant):
    ana = ContactFactory(merchant=merchant, name="Ana", email="ana@x.test", phone="")
    html = agent_client.post(reverse("tickets:new"), {"subject": "", "requester": ana.pk}).content.decode()
    assert f'<input type="radio" name="requester" value="{ana.pk}" checked> Ana · ana@x.test' in html


def test_create_from_conversation_in_one_click(agent_client, merchant):
    conversation = ConversationFactory(merchant=merchant)
    MessageFactory(conversation=conversation, body="Where is my refund?")
    response = agent_client.post(reverse("tickets:from_conversation", args=[conversation.pk]))
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert "Where is my refund?" in ticket.description
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert b"Where is my refund?" in page.content and b"data-due" not in page.content  # no SLA policy here


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("Refund\x00", "Subject: Null characters are not allowed."),
        ("x" * 201, "Subject: Ensure this value has at most 200 characters (it has 201)."),
    ],
)
def test_a_one_click_ticket_with_a_subject_that_cannot_be_stored_is_refused_in_words(
    agent_client, merchant, subject, message
):
    """A multipart body is not screened by the edge middleware: the view's form is what refuses it."""
    conversation = ConversationFactory(merchant=merchant)
    url = reverse("tickets:from_conversation", args=[conversation.pk])
    response = agent_client.post(url, {"subject": subject}, follow=True)  # the test client posts multipart
    assert response.redirect_chain == [(reverse("conversations:conversation", args=[conversation.pk]), 302)]
    assert [str(m) for m in response.context["messages"]] == [message]
    assert not Ticket.objects.exists()


def test_ticket_page_shows_sla_badges_and_timeline(agent_client, merchant):
    SlaPolicyFactory(merchant=merchant, business_hours=BusinessHoursFactory(merchant=merchant))
    ticket = make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)])
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert page.status_code == 200
    assert page.content.count(b"data-due=") == 2  # first response and resolution countdowns
    assert b"tickets/countdown.js" in page.content and b"created the ticket" in page.content


def test_refused_public_reply_is_shown_to_the_agent(agent_client, merchant):
    old = ConversationFactory(merchant=merchant, last_inbound_at=timezone.now() - timedelta(days=3))
    ticket = make_ticket(merchant, conversations=[old])
    response = agent_client.post(reverse("tickets:comment", args=[ticket.pk]), {"body": "Hi", "public": "on"})
    assert response.status_code == 422
    assert b"outside_service_window" in response.content
    assert not ticket.comments.exists()


def test_update_macro_and_merge_from_the_page(agent_client, merchant):
    a, b = make_ticket(merchant), make_ticket(merchant)
    response = agent_client.post(
        reverse("tickets:update", args=[a.pk]), {"status": "open", "priority": "urgent", "tags": "vip"}
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert (a.status, a.priority, a.tags) == ("open", "urgent", ["vip"])
    macro = MacroFactory(merchant=merchant, set_status="pending")
    agent_client.post(reverse("tickets:apply_macro", args=[a.pk]), {"macro": macro.pk})
    a.refresh_from_db()
    assert a.status == "pending"
    response = agent_client.post(reverse("tickets:merge", args=[a.pk]), {"target_number": b.number})
    assert response["Location"] == reverse("tickets:detail", args=[b.pk])
    a.refresh_from_db()
    assert a.merged_into == b


def test_settings_forms_create_rows(admin, merchant):
    response = admin.post(
        reverse("tickets:hours_list"),
        {
            "name": "Office",
            "timezone": "Europe/Madrid",
            "is_default": "on",
            "day_0": "09:00-13:00, 15:00-19:00",
            "holidays": "2026-12-25\n2027-01-01",
        },
    )
    assert response.status_code == 302, response.content
    hours = BusinessHours.objects.get()
    assert hours.periods == [
        {"weekday": 0, "start": "09:00", "end": "13:00"},
        {"weekday": 0, "start": "15:00", "end": "19:00"},
    ]
    assert hours.holidays == ["2026-12-25", "2027-01-01"]
    bad = admin.post(reverse("tickets:hours_list"), {"name": "Bad", "timezone": "Europe/Madrid", "day_1": "9-5"})
    assert bad.status_code == 400
    response = admin.post(
        reverse("tickets:policies_list"),
        {
            "name": "Std",
            "priority": "normal",
            "first_response_minutes": "60",
            "warn_before_minutes": "10",
            "position": "0",
            "is_active": "on",
            "business_hours": hours.pk,
        },
    )
    assert response.status_code == 302 and SlaPolicy.objects.get().business_hours == hours
    response = admin.post(
        reverse("tickets:macros_list"),
        {"name": "Thanks", "reply_text": "Thanks {{contact.name}}", "reply_public": "on", "add_tags_text": "thanked"},
    )
    assert response.status_code == 302 and Macro.objects.get().add_tags == ["thanked"]
    bad_macro = admin.post(reverse("tickets:macros_list"), {"name": "Bad", "reply_text": "{{ticket.secret}}"})
    assert bad_macro.status_code == 400


def test_csat_page_answers_once_and_allows_changes(client, merchant, agent_membership):
    ticket = make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)])
    ticket_update(ticket=ticket, actor=agent_membership.user, status=TicketStatus.SOLVED)
    url = reverse("tickets:csat", args=[csat_token(ticket)])
    assert client.get(url).status_code == 200
    assert client.post(url, {"rating": "9"}).status_code == 400
    response = client.post(url, {"rating": "5", "comment": "Great help"})
    assert response.status_code == 200 and b"Thank you" in response.content
    ticket.refresh_from_db()
    assert (ticket.csat_rating, ticket.csat_comment) == (5, "Great help")
    assert client.get(reverse("tickets:csat", args=["forged-token"])).status_code == 404


def test_csat_is_visible_on_the_ticket_page(agent_client, merchant):
    ticket = make_ticket(merchant)
    Ticket.objects.filter(pk=ticket.pk).update(csat_rating=4, csat_comment="Quick", csat_answered_at=timezone.now())
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert b"4/5" in page.content and b"Quick" in page.content


def test_dashboard_shows_ticket_cards(agent_client, merchant):
    make_ticket(merchant)
    page = agent_client.get(reverse("core:dashboard"))
    assert b"Unsolved tickets" in page.content


def test_openapi_schema_includes_ticket_routes(admin):
    response = admin.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/tickets/{ticket_pk}/comments/" in response.content
    assert b"first_response_due_at" in response.content


def test_timeline_reads_as_sentences(agent_client, merchant, agent_membership):
    team = TeamFactory(merchant=merchant, name="Refunds")
    ticket = make_ticket(merchant)
    ticket_update(ticket=ticket, actor=agent_membership.user, status="open", team=team, assignee=agent_membership.user)
    team.name = "Renamed"
    team.save()
    page = agent_client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "created the ticket" in page
    assert "changed status from New to Open" in page
    assert "changed team from none to Refunds" in page  # the name when it happened
    assert f"changed assignee from none to {agent_membership.user.email}" in page


def test_inbox_conversation_offers_create_ticket_and_lists_linked_tickets(agent_client, merchant, member_client):
    conversation = ConversationFactory(merchant=merchant)
    page = agent_client.get(reverse("conversations:conversation", args=[conversation.pk])).content.decode()
    button_url = reverse("tickets:from_conversation", args=[conversation.pk])
    assert f'action="{button_url}"' in page

    agent_client.post(button_url, {"subject": "Broken box"})
    ticket = Ticket.objects.get(merchant=merchant)
    page = agent_client.get(reverse("conversations:conversation", args=[conversation.pk])).content.decode()
    assert f"#{ticket.number} Broken box" in page


def test_list_query_count_is_exact_for_1_and_20_tickets(
    agent_client, merchant, agent_membership, django_assert_num_queries
):
    SlaPolicyFactory(merchant=merchant)
    team = TeamFactory(merchant=merchant)

    def add(n):
        for _ in range(n):
            conversation = ConversationFactory(merchant=merchant)
            make_ticket(merchant, conversations=[conversation], team=team, assignee=agent_membership.user)

    add(1)
    with django_assert_num_queries(11) as one:
        agent_client.get(reverse("tickets:list"))
    add(19)
    with django_assert_num_queries(len(one.captured_queries)):
        response = agent_client.get(reverse("tickets:list"))
    assert response.content.count(b'class="sla sla-due"') == 20


def test_detail_query_count_is_exact_for_1_and_20_comments_and_conversations(
    agent_client, merchant, agent_membership, django_assert_num_queries
):
    SlaPolicyFactory(merchant=merchant, business_hours=BusinessHoursFactory(merchant=merchant))
    ticket = make_ticket(merchant, conversations=[ConversationFactory(merchant=merchant)])
    ticket_comment_add(ticket=ticket, body="Internal note 0", public=False, actor=agent_membership.user)
    page = reverse("tickets:detail", args=[ticket.pk])
    with django_assert_num_queries(13) as one:
        agent_client.get(page)
    for i in range(19):
        ticket_comment_add(ticket=ticket, body=f"Internal note {i + 1}", public=False, actor=agent_membership.user)
        ticket_link_conversation(ticket=ticket, conversation=ConversationFactory(merchant=merchant))
    with django_assert_num_queries(len(one.captured_queries)):
        response = agent_client.get(page)
    assert len(response.context["conversation_ids"]) == 20
    assert response.content.count(b"Internal note ") == 20
