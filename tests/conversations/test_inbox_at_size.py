"""The inbox, the history and the API list at any depth: keyset pages, exact constant query counts, bad cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.conversations import selectors
from apps.conversations.views import inbox as inbox_view
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory, MessageFactory
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db

PAGE = 3
ROWS = 48
LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "conversation-list"}
MORE = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent(agent_membership, member_client):
    return member_client(agent_membership)


@pytest.fixture
def inbox(merchant, agent_membership, monkeypatch):
    """48 conversations over two channels, two statuses, two agents and nobody, a label on half; pairs share a
    last_message_at so the id must break ties. Small pages, so a deep cursor is several pages in."""
    monkeypatch.setattr(inbox_view, "LIST_LIMIT", PAGE)
    other = MembershipFactory(merchant=merchant).user
    channels = [ChannelFactory(merchant=merchant, kind="webchat") for _ in range(2)]
    now = timezone.now()
    for i in range(ROWS):
        conversation = ConversationFactory(
            merchant=merchant, channel=channels[i % 2], status="open" if i % 4 < 2 else "pending",
            assignee=[agent_membership.user, other, None][i % 3], labels=["vip"] if i % 2 else [],
            contact=ContactFactory(merchant=merchant, name=f"Lucía {i}" if i % 3 == 0 else f"Pat {i}"),
            last_message_at=now - timedelta(minutes=i // 2),
        )  # fmt: skip
        MessageFactory(conversation=conversation)
    return {"user": agent_membership.user, "other": other, "channels": channels}


CASES = {
    "all_open": {"view": "all", "status": "open"},
    "all_any_status": {"view": "all", "status": ""},
    "mine_open": {"view": "mine", "status": "open"},
    "mine_any_status": {"view": "mine", "status": ""},
    "unassigned_any_status": {"view": "unassigned", "status": ""},
    "status_pending": {"view": "all", "status": "pending"},
    "channel": {"view": "all", "status": "", "channel": 0},
    "assignee": {"view": "all", "status": "", "assignee": "other"},
    "label": {"view": "all", "status": "", "label": "vip"},
    "search": {"view": "all", "status": "", "q": "Lucía"},
}


def _params(case: dict, inbox: dict) -> dict:
    params = dict(case)
    if "channel" in params:
        params["channel"] = inbox["channels"][params["channel"]].pk
    if "assignee" in params:
        params["assignee"] = inbox[params["assignee"]].pk
    return params


def _ordered(merchant, inbox: dict, params: dict) -> list[int]:
    qs = selectors.conversation_filter(
        selectors.conversation_queryset(merchant=merchant), user=inbox["user"], view=params["view"],
        status=params["status"] or None, channel_id=params.get("channel"), label=params.get("label"),
        assignee_id=params.get("assignee"), search=params.get("q"),
    )  # fmt: skip
    return list(qs.order_by("-last_message_at", "-id").values_list("id", flat=True))


def _row_ids(response) -> list[int]:
    return [c.pk for c in response.context["rows"]]


@pytest.mark.parametrize("name", CASES)
def test_every_view_and_filter_pages_deep_in_the_same_queries_as_the_first(
    name, agent, merchant, inbox, django_assert_num_queries
):
    params = _params(CASES[name], inbox)
    expected = _ordered(merchant, inbox, params)
    assert len(expected) > 2 * PAGE  # a deep page exists, and an N+1 over 3 rows would show
    with django_assert_num_queries(7):  # session, user, membership, live seq, members, channels, the page
        first = agent.get(reverse("conversations:inbox"), params, **LIST)
    assert _row_ids(first) == expected[:PAGE]
    boundary = selectors.conversation_queryset(merchant=merchant).get(pk=expected[2 * PAGE - 1])
    with django_assert_num_queries(7):
        deep = agent.get(reverse("conversations:inbox"), params | {"before": selectors.cursor_encode(boundary)}, **MORE)
    assert _row_ids(deep) == expected[2 * PAGE : 3 * PAGE]


def test_following_more_links_walks_every_conversation_once_in_order(agent, merchant, inbox):
    params = {"view": "all", "status": ""}
    seen, url = [], reverse("conversations:inbox") + "?view=all&status="
    while url:
        response = agent.get(url, **MORE)
        seen += _row_ids(response)
        url = response.context["more_url"]
    assert seen == _ordered(merchant, inbox, params) and len(seen) == ROWS


def test_a_cursor_that_is_not_ours_is_a_400_for_the_more_link_and_the_first_page_in_full(agent, merchant, inbox):
    more = agent.get(reverse("conversations:inbox"), {"view": "all", "before": "bm90LWEtY3Vyc29y"}, **MORE)
    assert more.status_code == 400 and b"not valid" in more.content
    page = agent.get(reverse("conversations:inbox"), {"view": "all", "status": "", "before": "x!"})
    assert page.status_code == 200 and _row_ids(page) == _ordered(merchant, inbox, {"view": "all", "status": ""})[:PAGE]


def test_a_deep_full_page_links_back_to_the_newest(agent, merchant, inbox):
    first = agent.get(reverse("conversations:inbox"), {"view": "all"})
    assert first.context["newest_url"] == ""
    deep = agent.get(first.context["more_url"])
    assert deep.status_code == 200 and "before" not in deep.context["newest_url"]
    assert b"Newest conversations" in deep.content


# --------------------------------------------------------------------------- the conversation's history
@pytest.fixture
def long_conversation(merchant):
    conversation = ConversationFactory(merchant=merchant)
    MessageFactory.create_batch(100, conversation=conversation)
    return conversation


def test_older_messages_deep_in_a_long_conversation_cost_what_the_newest_do(
    agent, long_conversation, django_assert_num_queries
):
    ids = list(long_conversation.messages.order_by("-id").values_list("id", flat=True))
    path = reverse("conversations:messages_older", args=[long_conversation.pk])
    with django_assert_num_queries(6):  # session, user, membership, the conversation, messages, their files
        near = agent.get(path, {"before": ids[0]}, **MORE)
    with django_assert_num_queries(6):
        deep = agent.get(path, {"before": ids[60]}, **MORE)
    assert [m.pk for m in near.context["history"]] == sorted(ids[1:31])
    assert [m.pk for m in deep.context["history"]] == sorted(ids[61:91])


@pytest.mark.parametrize("before", ["", "abc", "-1", "٣"])
def test_older_messages_without_a_valid_before_is_a_400(agent, long_conversation, before):
    path = reverse("conversations:messages_older", args=[long_conversation.pk])
    assert agent.get(path, {"before": before}, **MORE).status_code == 400


# --------------------------------------------------------------------------- the API
def test_api_list_pages_deep_and_back_with_constant_queries(api, merchant, inbox, django_assert_num_queries):
    expected = _ordered(merchant, inbox, {"view": "all", "status": ""})
    pages, url = [], "/api/v1/conversations/?page_size=5"
    while url:
        # The key and the page; the first request also writes the key's last use (throttled to one a minute).
        with django_assert_num_queries(2 if pages else 3):
            body = api.get(url).json()
        pages.append(body)
        url = body["next"]
    assert [c["id"] for page in pages for c in page["results"]] == expected
    back = api.get(pages[3]["previous"]).json()
    assert [c["id"] for c in back["results"]] == expected[10:15] and back["previous"] is not None
    assert back["next"] is not None
    assert api.get(pages[1]["previous"]).json()["previous"] is None


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJvIixbMV1d", "WyJvIixbIm5vdC1hLWRhdGUiLDFdXQ"])
def test_api_bad_cursor_is_a_400_naming_the_cursor(api, merchant, inbox, cursor):
    response = api.get(f"/api/v1/conversations/?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["fields"]


def test_api_message_history_bad_cursor_is_a_400(api, long_conversation):
    response = api.get(f"/api/v1/conversations/{long_conversation.pk}/messages/?cursor=nope")
    assert response.status_code == 400 and "cursor" in response.json()["error"]["fields"]


def test_api_empty_cursor_is_the_first_page(api, merchant, inbox):
    first = api.get("/api/v1/conversations/").json()
    empty = api.get("/api/v1/conversations/?cursor=")
    assert empty.status_code == 200 and empty.json()["results"] == first["results"]
