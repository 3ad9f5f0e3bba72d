"""The HTTP API as the contract describes it: shapes, errors, policy refusals, query counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations import extension_points
from apps.conversations.models import Channel, Conversation, Message
from tests.factories.conversations import (
    CannedResponseFactory,
    ChannelFactory,
    ConversationFactory,
    MessageFactory,
)

pytestmark = pytest.mark.django_db

SECRETS = ("access_token", "app_secret", "verify_token", "phone_number_id", "page_id")


def wa_body(**extra):
    return {
        "kind": "whatsapp",
        "name": "WA Ventas",
        "phone_number_id": "209384756102938",
        "access_token": "EAAG-secret-token",
        "app_secret": "app-secret-value",
        "verify_token": "verify-me",
        **extra,
    }


# --------------------------------------------------------------------------- channels
def test_create_whatsapp_channel_hides_secrets(api):
    response = api.post("/api/v1/channels/", wa_body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    channel = Channel.objects.get()
    assert data["webhook_url"] == f"/webhooks/whatsapp/{channel.pk}/"
    assert data["kind"] == "whatsapp" and data["name"] == "WA Ventas"
    for name in SECRETS:
        assert name not in data
    raw = response.content.decode()
    for value in ("EAAG-secret-token", "app-secret-value", "verify-me", "209384756102938"):
        assert value not in raw
    assert data["credentials"] == {
        "phone_number_id": "…2938",
        "page_id": None,
        "access_token": True,
        "app_secret": True,
        "verify_token": True,
    }
    assert channel.app_secret == "app-secret-value"
    detail = api.get(f"/api/v1/channels/{channel.pk}/").content.decode()
    assert "app-secret-value" not in detail and "EAAG-secret-token" not in detail


def test_webchat_channel_has_no_webhook_url(api):
    response = api.post(
        "/api/v1/channels/",
        {"kind": "webchat", "name": "Web", "allowed_origins": ["https://shop.example"]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["webhook_url"] is None and response.json()["public_key"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**wa_body(), "app_secret": ""}, "app_secret"),
        ({k: v for k, v in wa_body().items() if k != "phone_number_id"}, "phone_number_id"),
        ({**wa_body(), "phone_number_id": "abc"}, "phone_number_id"),
        ({**wa_body(), "kind": "telegram"}, "kind"),
        ({"kind": "messenger", "name": "FB", "access_token": "t", "app_secret": "s", "verify_token": "v"}, "page_id"),
        ({"kind": "webchat", "name": "Web", "allowed_origins": ["shop.example"]}, "allowed_origins"),
        ({**wa_body(), "name": ""}, "name"),
    ],
)
def test_invalid_channel_is_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/channels/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"]
    assert Channel.objects.count() == 0


def test_phone_number_id_used_twice_is_400(api, other_api):
    assert other_api.post("/api/v1/channels/", wa_body(), format="json").status_code == 201
    response = api.post("/api/v1/channels/", wa_body(), format="json")
    assert response.status_code == 400
    assert "phone_number_id" in response.json()["error"]["fields"]


def test_update_channel_rotates_secret_and_cannot_change_kind(api, merchant):
    channel = ChannelFactory(merchant=merchant)
    response = api.patch(f"/api/v1/channels/{channel.pk}/", {"app_secret": "rotated"}, format="json")
    assert response.status_code == 200
    channel.refresh_from_db()
    assert channel.app_secret == "rotated"
    response = api.patch(f"/api/v1/channels/{channel.pk}/", {"kind": "messenger"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["error"]["fields"]


def test_channel_with_history_cannot_be_deleted(api, merchant):
    used = ConversationFactory(merchant=merchant).channel
    response = api.delete(f"/api/v1/channels/{used.pk}/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "channel_in_use"
    unused = ChannelFactory(merchant=merchant)
    assert api.delete(f"/api/v1/channels/{unused.pk}/").status_code == 204
    assert list(Channel.objects.values_list("pk", flat=True)) == [used.pk]


def test_agents_read_channels_but_cannot_configure_them(member_client, agent_membership):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(agent_membership.user)
    ChannelFactory(merchant=agent_membership.merchant)
    assert client.get("/api/v1/channels/").status_code == 200
    assert client.post("/api/v1/channels/", wa_body(), format="json").status_code == 403


# --------------------------------------------------------------------------- conversations
def test_conversation_list_shape_and_filters(api, merchant):
    open_one = ConversationFactory(merchant=merchant, labels=["vip"])
    resolved = ConversationFactory(merchant=merchant, status="resolved")
    ConversationFactory()  # another merchant's
    data = api.get("/api/v1/conversations/").json()
    assert set(data) == {"results", "next", "previous"}
    assert {c["id"] for c in data["results"]} == {open_one.pk, resolved.pk}
    row = next(c for c in data["results"] if c["id"] == open_one.pk)
    assert row["channel"] == open_one.channel_id and row["contact"] == open_one.contact_id
    assert row["status"] == "open" and row["labels"] == ["vip"] and row["assignee"] is None
    assert "last_message_at" in row
    assert [c["id"] for c in api.get("/api/v1/conversations/?status=resolved").json()["results"]] == [resolved.pk]
    assert [c["id"] for c in api.get(f"/api/v1/conversations/?channel={open_one.channel_id}").json()["results"]] == [
        open_one.pk
    ]
    assert [c["id"] for c in api.get(f"/api/v1/conversations/?contact={resolved.contact_id}").json()["results"]] == [
        resolved.pk
    ]
    assert [c["id"] for c in api.get("/api/v1/conversations/?label=vip").json()["results"]] == [open_one.pk]


@pytest.mark.parametrize("query", ["status=closed", "channel=abc", "assignee=someone"])
def test_bad_filters_are_400(api, query):
    response = api.get(f"/api/v1/conversations/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]


def test_conversation_list_is_cursor_paginated_newest_first(api, merchant):
    now = timezone.now()
    made = [ConversationFactory(merchant=merchant, last_message_at=now - timedelta(minutes=i)) for i in range(5)]
    first = api.get("/api/v1/conversations/?page_size=2").json()
    assert [c["id"] for c in first["results"]] == [made[0].pk, made[1].pk]
    second = api.get(first["next"]).json()
    assert [c["id"] for c in second["results"]] == [made[2].pk, made[3].pk]


@pytest.mark.parametrize("size", [5, 50])
def test_conversation_list_query_count_is_constant(api, merchant, django_assert_num_queries, size):
    for _ in range(size):
        ConversationFactory(merchant=merchant)
    with django_assert_num_queries(3):  # the key (its touch is throttled), the merchant, the page
        response = api.get(f"/api/v1/conversations/?page_size={size}")
    assert len(response.json()["results"]) == size


def test_start_conversation_then_template(api, merchant, other_merchant, monkeypatch):
    from tests.factories.contacts import ContactFactory

    channel = ChannelFactory(merchant=merchant, kind="whatsapp")
    contact = ContactFactory(merchant=merchant, phone="+34600111299")
    response = api.post("/api/v1/conversations/", {"channel": channel.pk, "contact": contact.pk}, format="json")
    assert response.status_code == 201
    again = api.post("/api/v1/conversations/", {"channel": channel.pk, "contact": contact.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    url = f"/api/v1/conversations/{response.json()['id']}/messages/"
    refused = api.post(url, {"text": "hola"}, format="json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "template_required"
    foreign = ContactFactory(merchant=other_merchant)
    response = api.post("/api/v1/conversations/", {"channel": channel.pk, "contact": foreign.pk}, format="json")
    assert response.status_code == 400 and "contact" in response.json()["error"]["fields"]


def test_patch_status_assignee_labels(api, merchant, agent_membership):
    conversation = ConversationFactory(merchant=merchant)
    response = api.patch(
        f"/api/v1/conversations/{conversation.pk}/",
        {"status": "pending", "assignee": agent_membership.user.pk, "labels": ["vip", " vip ", "b"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["status"], data["assignee"], data["labels"]) == ("pending", agent_membership.user.pk, ["vip", "b"])
    response = api.patch(f"/api/v1/conversations/{conversation.pk}/", {"assignee": None}, format="json")
    assert response.json()["assignee"] is None


def test_patch_refuses_assignee_of_another_merchant(api, merchant, other_admin_membership):
    conversation = ConversationFactory(merchant=merchant)
    response = api.patch(
        f"/api/v1/conversations/{conversation.pk}/",
        {"assignee": other_admin_membership.user.pk, "labels": ["x"]},
        format="json",
    )
    assert response.status_code == 400
    assert "assignee" in response.json()["error"]["fields"]
    conversation.refresh_from_db()
    assert conversation.assignee_id is None and conversation.labels == []  # nothing half-written


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"status": "snoozed"}, "snoozed_until"),
        ({"labels": "vip"}, "labels"),
        ({"assignee": "7"}, "assignee"),  # an id is a JSON integer, not a string
        ({"priority": "meh"}, "priority"),
    ],
)
def test_patch_invalid_is_400(api, merchant, body, field):
    conversation = ConversationFactory(merchant=merchant)
    response = api.patch(f"/api/v1/conversations/{conversation.pk}/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_patch_without_changes_answers_the_conversation_unchanged(api, merchant):
    """Like every PATCH of the API, an empty one is a no-op, not an error."""
    conversation = ConversationFactory(merchant=merchant, labels=["vip"])
    response = api.patch(f"/api/v1/conversations/{conversation.pk}/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["labels"] == ["vip"] and response.json()["status"] == conversation.status


def test_snooze_in_the_past_is_refused(api, merchant):
    conversation = ConversationFactory(merchant=merchant)
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = api.patch(
        f"/api/v1/conversations/{conversation.pk}/", {"status": "snoozed", "snoozed_until": past}, format="json"
    )
    assert response.status_code == 400 and "snoozed_until" in response.json()["error"]["fields"]


# --------------------------------------------------------------------------- messages
def test_message_history_is_paginated_newest_first(api, merchant):
    conversation = ConversationFactory(merchant=merchant)
    messages = [MessageFactory(conversation=conversation, body=f"m{i}") for i in range(3)]
    data = api.get(f"/api/v1/conversations/{conversation.pk}/messages/?page_size=2").json()
    assert [m["id"] for m in data["results"]] == [messages[2].pk, messages[1].pk]
    row = data["results"][0]
    assert (row["direction"], row["kind"], row["body"], row["status"], row["error"]) == (
        "inbound",
        "text",
        "m2",
        "received",
        None,
    )
    older = api.get(data["next"]).json()
    assert [m["id"] for m in older["results"]] == [messages[0].pk]


def test_message_history_walks_older_and_back_newer_through_only_its_conversation(api, merchant):
    conversation, other = ConversationFactory(merchant=merchant), ConversationFactory(merchant=merchant)
    ours = []
    for i in range(5):  # interleaved with another conversation's messages: each page holds ours alone
        ours.append(MessageFactory(conversation=conversation, body=f"m{i}").pk)
        MessageFactory(conversation=other)
    first = api.get(f"/api/v1/conversations/{conversation.pk}/messages/?page_size=2").json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    pages = [[m["id"] for m in page["results"]] for page in (first, second, third)]
    assert pages == [ours[:2:-1][:2], ours[2:0:-1], ours[:1]] and third["next"] is None
    back = api.get(second["previous"]).json()
    assert [m["id"] for m in back["results"]] == pages[0] and back["previous"] is None


@pytest.mark.parametrize("size", [5, 50])
def test_message_history_query_count_is_constant(api, merchant, django_assert_num_queries, size):
    conversation = ConversationFactory(merchant=merchant)
    for _ in range(size):
        MessageFactory(conversation=conversation)
    with django_assert_num_queries(4):
        response = api.get(f"/api/v1/conversations/{conversation.pk}/messages/?page_size={size}")
    assert len(response.json()["results"]) == size


def test_post_reply_201_and_reaches_fake_graph(api, merchant, fake_graph, eager, django_capture_on_commit_callbacks):
    conversation = ConversationFactory(merchant=merchant, channel__kind="whatsapp", identity="34600111222")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "¡Hola! Ya salió."}, format="json"
        )
    assert response.status_code == 201
    data = response.json()
    assert data["direction"] == "outbound" and data["status"] == "queued" and data["body"] == "¡Hola! Ya salió."
    [sent] = fake_graph.sent
    assert sent["path"] == f"/v21.0/{conversation.channel.phone_number_id}/messages"
    assert sent["body"]["messaging_product"] == "whatsapp" and sent["body"]["to"] == "34600111222"
    assert Message.objects.get(pk=data["id"]).status == "sent"


def test_post_outside_window_is_422_with_policy_code(api, merchant):
    conversation = ConversationFactory(
        merchant=merchant, channel__kind="whatsapp", last_inbound_at=timezone.now() - timedelta(days=2)
    )
    response = api.post(f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "late"}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "outside_service_window"
    assert Message.objects.count() == 0


def test_post_messenger_api_key_needs_human_agent_flag(api, merchant):
    conversation = ConversationFactory(
        merchant=merchant, channel__kind="messenger", last_inbound_at=timezone.now() - timedelta(days=2)
    )
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    refused = api.post(url, {"text": "hola"}, format="json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "human_agent_required"
    accepted = api.post(url, {"text": "hola", "human_agent": True}, format="json")
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "  "}, "text"),
        ({"text": "a", "template": {"id": 1}}, "text"),
        ({"template": {"params": {}}}, "template"),
    ],
)
def test_post_invalid_body_is_400(api, merchant, body, field):
    conversation = ConversationFactory(merchant=merchant)
    response = api.post(f"/api/v1/conversations/{conversation.pk}/messages/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_post_template_without_resolver_is_422(api, merchant, monkeypatch):
    monkeypatch.setattr(extension_points, "_template_resolvers", [])
    conversation = ConversationFactory(merchant=merchant)
    response = api.post(f"/api/v1/conversations/{conversation.pk}/messages/", {"template": {"id": 9}}, format="json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "template_not_found"


def test_post_template_through_registered_resolver(api, merchant, monkeypatch):
    class Template:
        id, category = 9, "utility"
        name, language, status, body, variables = "spring_sale", "es_ES", "approved", "Hola {{n}}", ["n"]
        id, channel_kind = 9, "whatsapp"
        header_media_url, header_media_type, buttons = "", "", []

    seen = []

    def resolver(*, merchant, template_id):
        seen.append((merchant.pk, template_id))
        return Template() if str(template_id) == "9" else None

    monkeypatch.setattr(extension_points, "_template_resolvers", [resolver])
    conversation = ConversationFactory(merchant=merchant, last_inbound_at=timezone.now() - timedelta(days=5))
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    response = api.post(url, {"template": {"id": 9, "params": {"n": "Ana"}}}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "template" and response.json()["body"] == "Hola Ana"
    assert seen == [(merchant.pk, 9), (merchant.pk, 9)]  # the request's lookup, then the send-time re-read
    missing_params = api.post(url, {"template": {"id": 9}}, format="json")
    assert missing_params.status_code == 422
    assert missing_params.json()["error"]["code"] == "template_params_invalid"


def test_post_note(api, merchant):
    conversation = ConversationFactory(merchant=merchant, last_inbound_at=timezone.now() - timedelta(days=30))
    response = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages/", {"text": "internal", "note": True}, format="json"
    )
    assert response.status_code == 201 and response.json()["kind"] == "note"


def test_another_merchants_conversation_is_404_and_nothing_sent(other_api, merchant):
    conversation = ConversationFactory(merchant=merchant)
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    assert other_api.get(url).status_code == 404
    assert other_api.post(url, {"text": "hi"}, format="json").status_code == 404
    assert (
        other_api.patch(f"/api/v1/conversations/{conversation.pk}/", {"status": "resolved"}, format="json").status_code
        == 404
    )
    assert Message.objects.count() == 0
    assert Conversation.objects.get().status == "open"


def test_no_key_is_401(client):
    assert client.get("/api/v1/conversations/").status_code == 401
    assert client.get("/api/v1/channels/").status_code == 401


# --------------------------------------------------------------------------- canned responses
def test_canned_responses_crud(api, merchant):
    response = api.post(
        "/api/v1/canned-responses/", {"shortcut": "Hello", "title": "Hi", "body": "Hola, ¿qué tal?"}, format="json"
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    assert response.json()["shortcut"] == "hello"
    duplicate = api.post("/api/v1/canned-responses/", {"shortcut": "hello", "body": "x"}, format="json")
    assert duplicate.status_code == 400 and "shortcut" in duplicate.json()["error"]["fields"]
    assert api.patch(f"/api/v1/canned-responses/{pk}/", {"body": "Nuevo"}, format="json").json()["body"] == "Nuevo"
    CannedResponseFactory()  # another merchant's
    assert [c["id"] for c in api.get("/api/v1/canned-responses/").json()["results"]] == [pk]
    assert api.delete(f"/api/v1/canned-responses/{pk}/").status_code == 204
    bad = api.post("/api/v1/canned-responses/", {"shortcut": "no spaces", "body": ""}, format="json")
    assert bad.status_code == 400 and {"shortcut", "body"} <= set(bad.json()["error"]["fields"])
