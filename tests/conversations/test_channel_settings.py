"""Settings → Channels: connect WhatsApp and Messenger through forms, check the connection against the fake
Graph API, web-chat widgets with pre-chat fields, disable/enable and delete with confirmation, the demo shop."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from apps.contacts.models import Contact
from apps.conversations import providers
from apps.conversations.models import Channel
from tests.conversations.live_support import webchat_channel
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db

NUMBER_ID, WABA_ID, PAGE_ID = "109876543210987", "204060801030507", "556677889900112"
TOKEN, SECRET, VERIFY = "EAAG-token-SECRET-1234567890", "app-secret-SECRET-abcdef", "verify-me-42"
WHATSAPP_FORM = {
    "name": "Tienda Sol WhatsApp",
    "phone_number_id": NUMBER_ID,
    "waba_id": WABA_ID,
    "access_token": TOKEN,
    "app_secret": SECRET,
    "verify_token": VERIFY,
}


def url(name, *args):
    return reverse(f"conversations:{name}", args=args)


def errors(response) -> dict:
    return {field: list(messages) for field, messages in response.context["form"].errors.items()}


# --------------------------------------------------------------------------- connect WhatsApp
def test_connect_form_offers_a_generated_verify_token_and_no_secret(admin_client_):
    page = admin_client_.get(url("connect_whatsapp"))
    assert page.status_code == 200
    form = page.context["form"]
    assert list(form.fields) == ["name", "phone_number_id", "waba_id", "access_token", "app_secret", "verify_token"]
    assert len(form.initial["verify_token"]) == 32
    assert f'value="{form.initial["verify_token"]}"' in page.content.decode()


def test_each_missing_field_gets_its_own_message_and_nothing_is_written(admin_client_):
    response = admin_client_.post(url("connect_whatsapp"), {"verify_token": ""})
    assert response.status_code == 400
    assert errors(response) == {
        "name": ["Give the channel a name."],
        "phone_number_id": ["Enter the phone number id (WhatsApp Manager → API Setup, digits only)."],
        "access_token": ["Paste an access token (a system user's permanent token with the messaging permission)."],
        "app_secret": ["Paste the app secret (your Meta app → App settings → Basic)."],
        "verify_token": ["Choose a verify token: any text, typed again in Meta's webhook form."],
    }
    assert not Channel.objects.exists()


def test_ids_must_be_digits(admin_client_):
    form = {**WHATSAPP_FORM, "phone_number_id": "+34 600", "waba_id": "WABA-1"}
    response = admin_client_.post(url("connect_whatsapp"), form)
    assert response.status_code == 400
    assert errors(response) == {
        "phone_number_id": ["Meta's phone number id is digits only"],
        "waba_id": ["Meta's WhatsApp Business Account id is digits only"],
    }
    html = response.content.decode()
    assert TOKEN not in html and SECRET not in html  # a refused form does not send the secrets back either
    assert 'value="+34 600"' in html and f'value="{VERIFY}"' in html
    assert not Channel.objects.exists()


def test_a_number_connected_anywhere_is_refused(admin_client_):
    ChannelFactory(merchant=MerchantFactory(), phone_number_id=NUMBER_ID)
    response = admin_client_.post(url("connect_whatsapp"), WHATSAPP_FORM)
    assert response.status_code == 400
    assert errors(response) == {"phone_number_id": ["This number is already connected"]}
    assert Channel.objects.count() == 1


def test_the_api_says_the_same_as_the_form(api):
    ChannelFactory(merchant=MerchantFactory(), phone_number_id=NUMBER_ID)
    body = {"kind": "whatsapp", **WHATSAPP_FORM}
    response = api.post("/api/v1/channels/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"phone_number_id": ["This number is already connected"]}


def test_connecting_stores_the_channel_and_shows_the_webhook_but_never_the_secrets(admin_client_, merchant):
    response = admin_client_.post(url("connect_whatsapp"), WHATSAPP_FORM)
    channel = Channel.objects.get()
    assert response.status_code == 302 and response["Location"] == url("channel_edit", channel.pk)
    assert (channel.merchant, channel.kind, channel.name) == (merchant, "whatsapp", "Tienda Sol WhatsApp")
    assert (channel.phone_number_id, channel.settings) == (NUMBER_ID, {"waba_id": WABA_ID})
    assert (channel.access_token, channel.app_secret, channel.verify_token) == (TOKEN, SECRET, VERIFY)
    page = admin_client_.get(response["Location"])
    html = page.content.decode()
    assert f'value="http://testserver/webhooks/whatsapp/{channel.pk}/"' in html
    assert f'id="verify-token" class="mono" readonly value="{VERIFY}"' in html
    assert TOKEN not in html and SECRET not in html
    assert html.count("•••• set. Leave empty to keep it; type a new one to replace it.") == 3
    assert html.count('data-copy-target="') == 2


def test_editing_with_empty_secrets_keeps_them_and_a_new_one_replaces(admin_client_, merchant):
    channel = ChannelFactory(merchant=merchant, access_token=TOKEN, app_secret=SECRET, settings={"sandbox": True})
    form = {"name": "Renamed", "phone_number_id": channel.phone_number_id, "waba_id": "", "access_token": ""}
    assert admin_client_.post(url("channel_edit", channel.pk), {**form, "app_secret": "new-secret"}).status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.access_token, channel.app_secret) == ("Renamed", TOKEN, "new-secret")
    assert channel.settings == {"sandbox": True, "waba_id": ""}  # keys the form does not show survive


def test_connect_a_messenger_page(admin_client_):
    form = {"name": "Sol page", "page_id": PAGE_ID, "access_token": TOKEN, "app_secret": SECRET, "verify_token": "v"}
    assert admin_client_.post(url("connect_messenger"), {**form, "page_id": "sol"}).status_code == 400
    response = admin_client_.post(url("connect_messenger"), form)
    channel = Channel.objects.get()
    assert (channel.kind, channel.page_id) == ("messenger", PAGE_ID)
    html = admin_client_.get(response["Location"]).content.decode()
    assert f"http://testserver/webhooks/messenger/{channel.pk}/" in html and TOKEN not in html
    again = admin_client_.post(url("connect_messenger"), form)
    assert errors(again) == {"page_id": ["This page is already connected"]}


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_admins_connect(role, request, member_client, merchant):
    client = member_client(request.getfixturevalue(f"{role}_membership"))
    channel = ChannelFactory(merchant=merchant)
    assert client.get(url("channels")).status_code == 403
    assert client.post(url("connect_whatsapp"), WHATSAPP_FORM).status_code == 403
    assert client.post(url("channel_edit", channel.pk), {**WHATSAPP_FORM, "name": "x"}).status_code == 403
    assert client.post(url("channel_check", channel.pk)).status_code == 403
    assert client.post(url("channel_toggle", channel.pk)).status_code == 403
    assert client.post(url("channel_delete", channel.pk)).status_code == 403
    assert client.post(url("widget_new"), {"name": "w"}).status_code == 403
    assert Channel.objects.get() == channel and channel.name != "x"


def test_another_merchants_channel_is_a_404(admin_client_):
    theirs = ChannelFactory(merchant=MerchantFactory())
    for name in ("channel_edit", "channel_check", "channel_toggle", "channel_delete"):
        assert admin_client_.post(url(name, theirs.pk), WHATSAPP_FORM).status_code == 404, name
    theirs.refresh_from_db()
    assert theirs.is_active and theirs.name != WHATSAPP_FORM["name"]


def test_only_meta_kinds_are_connected_with_the_form(admin_client_):
    assert admin_client_.get("/inbox/channels/connect/webchat/").status_code == 404
    assert admin_client_.get("/inbox/channels/connect/telegram/").status_code == 404


# --------------------------------------------------------------------------- check connection
@pytest.fixture
def whatsapp(merchant):
    return ChannelFactory(merchant=merchant, phone_number_id=NUMBER_ID, access_token=TOKEN)


def _check(client, channel) -> str:
    response = client.post(url("channel_check", channel.pk), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def test_check_shows_name_number_and_quality(admin_client_, whatsapp, fake_graph):
    node = {"display_phone_number": "+34 910 00 00 01", "verified_name": "Tienda Sol", "quality_rating": "GREEN"}
    fake_graph.nodes[NUMBER_ID] = (TOKEN, {**node, "name_status": "APPROVED"})
    html = _check(admin_client_, whatsapp)
    assert '<dd data-check="verified_name">Tienda Sol</dd>' in html
    assert '<dd data-check="display_phone_number">+34 910 00 00 01</dd>' in html
    assert '<dd data-check="quality_rating">GREEN</dd>' in html
    [get] = fake_graph.gets
    assert get["path"] == f"/v21.0/{NUMBER_ID}" and get["auth"] == f"Bearer {TOKEN}"
    assert get["query"] == {"fields": ["display_phone_number,verified_name,quality_rating"]}


def test_check_of_a_messenger_page_sends_its_token_and_shows_its_name(admin_client_, merchant, fake_graph):
    page = ChannelFactory(merchant=merchant, kind="messenger", page_id=PAGE_ID, access_token=TOKEN)
    fake_graph.nodes[PAGE_ID] = (TOKEN, {"name": "Tienda Sol"})
    assert '<dd data-check="name">Tienda Sol</dd>' in _check(admin_client_, page)
    assert fake_graph.gets[0]["query"] == {"fields": ["name"], "access_token": [TOKEN]}


def test_an_invalid_token_is_said_in_plain_words(admin_client_, whatsapp, fake_graph):
    fake_graph.nodes[NUMBER_ID] = ("another-token", {"verified_name": "Tienda Sol"})
    html = _check(admin_client_, whatsapp)
    assert (
        '<p data-check="error">Meta refused the access token: it is invalid or has expired. Paste a new token and '
        "save. Meta said: “Invalid OAuth access token - Cannot parse access token” (code 190).</p>"
    ) in html.replace("&ldquo;", "“").replace("&rdquo;", "”")


def test_a_dropped_connection_is_shown_not_a_500(admin_client_, whatsapp, fake_graph):
    fake_graph.queue_drop()
    html = _check(admin_client_, whatsapp)
    assert "Meta did not answer (connection error); check the connection and try again." in html
    assert len(fake_graph.gets) == 1  # one attempt: a person is waiting


def test_a_timeout_is_shown_not_a_500(admin_client_, whatsapp, fake_graph, monkeypatch):
    fake_graph.nodes[NUMBER_ID] = (TOKEN, {"verified_name": "Tienda Sol"})
    fake_graph.latency = 1.0
    monkeypatch.setattr(providers, "CHECK_TIMEOUT", 0.2)
    html = _check(admin_client_, whatsapp)
    assert "Meta did not answer (timeout); check the connection and try again." in html


def test_check_without_htmx_renders_the_whole_page(admin_client_, whatsapp, fake_graph):
    fake_graph.nodes[NUMBER_ID] = (TOKEN, {"verified_name": "Tienda Sol"})
    response = admin_client_.post(url("channel_check", whatsapp.pk))
    assert response.status_code == 200 and response.context["check"].details["verified_name"] == "Tienda Sol"
    assert response.context["form"]["phone_number_id"].value() == NUMBER_ID
    assert TOKEN not in response.content.decode()


# --------------------------------------------------------------------------- disable / enable / delete
def test_disable_asks_first_then_switches_off_and_on(admin_client_, whatsapp):
    page = admin_client_.get(url("channel_toggle", whatsapp.pk))
    assert page.status_code == 200 and f"Disable “{whatsapp.name}”?" in page.content.decode()
    whatsapp.refresh_from_db()
    assert whatsapp.is_active
    assert admin_client_.post(url("channel_toggle", whatsapp.pk)).status_code == 302
    whatsapp.refresh_from_db()
    assert not whatsapp.is_active
    admin_client_.post(url("channel_toggle", whatsapp.pk))
    whatsapp.refresh_from_db()
    assert whatsapp.is_active


def test_toggle_and_delete_need_the_csrf_token(admin_membership, whatsapp):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_membership.user)
    assert client.post(url("channel_toggle", whatsapp.pk)).status_code == 403
    assert client.post(url("channel_delete", whatsapp.pk)).status_code == 403
    whatsapp.refresh_from_db()
    assert whatsapp.is_active


def test_a_channel_without_conversations_is_deleted_after_confirmation(admin_client_, whatsapp):
    page = admin_client_.get(url("channel_delete", whatsapp.pk))
    assert page.status_code == 200 and "It has no conversations." in page.content.decode()
    assert Channel.objects.filter(pk=whatsapp.pk).exists()
    response = admin_client_.post(url("channel_delete", whatsapp.pk))
    assert response.status_code == 302 and not Channel.objects.filter(pk=whatsapp.pk).exists()


def test_a_channel_with_history_is_not_deleted_and_disabling_is_offered(admin_client_, merchant, whatsapp):
    ConversationFactory.create_batch(2, merchant=merchant, channel=whatsapp)
    response = admin_client_.post(url("channel_delete", whatsapp.pk))
    assert response.status_code == 409
    html = response.content.decode()
    assert "This channel cannot be deleted: it has 2 conversations, and their history is kept." in html
    assert f'href="{url("channel_toggle", whatsapp.pk)}">Disable instead' in html
    assert Channel.objects.filter(pk=whatsapp.pk).exists()


def test_the_list_shows_every_kind_with_its_actions(admin_client_, merchant, whatsapp, django_assert_num_queries):
    chat = webchat_channel(merchant, name="Shop chat")
    ChannelFactory(merchant=MerchantFactory(), name="Not ours")
    # session, user, membership (middleware), the channels, memberships for the switcher: none per channel
    with django_assert_num_queries(5):
        html = admin_client_.get(url("channels")).content.decode()
    assert url("channel_edit", whatsapp.pk) in html and url("widget_settings", chat.pk) in html
    assert url("channel_delete", chat.pk) in html and "Not ours" not in html


# --------------------------------------------------------------------------- web-chat widgets
WIDGET_FORM = {
    "name": "Shop chat",
    "allowed_origins": "https://shop.example\nhttps://www.shop.example:8443/",
    "prechat_name": "required",
    "prechat_email": "optional",
    "prechat_phone": "off",
    "consent_channel": "email",
}


def test_create_a_widget_with_its_pre_chat_fields(admin_client_, merchant):
    response = admin_client_.post(url("widget_new"), WIDGET_FORM)
    channel = Channel.objects.get()
    assert response.status_code == 302 and response["Location"] == url("widget_settings", channel.pk)
    assert (channel.kind, channel.name) == ("webchat", "Shop chat")
    assert channel.allowed_origins == ["https://shop.example", "https://www.shop.example:8443"]
    assert channel.settings["prechat_fields"] == {"name": "required", "email": "optional", "phone": "off"}
    html = admin_client_.get(response["Location"]).content.decode()
    assert f"http://testserver/inbox/widget/{channel.public_key}.js" in html
    assert 'data-copy-target="snippet"' in html and url("widget_preview", channel.pk) in html


def test_each_bad_origin_is_named_with_its_line(admin_client_):
    form = {**WIDGET_FORM, "name": "", "allowed_origins": "https://ok.example\nshop.example\nhttps://a.example/chat"}
    response = admin_client_.post(url("widget_new"), form)
    assert response.status_code == 400
    assert errors(response) == {
        "name": ["This field is required."],
        "allowed_origins": [
            "Line 2: “shop.example” must start with https:// (or http:// for a local test site), e.g. https://shop.example.",
            "Line 3: “https://a.example/chat” is a page address; use only the origin, https://a.example (no path).",
        ],
    }
    assert not Channel.objects.exists()


def test_editing_a_widget_shows_and_keeps_its_settings(admin_client_, merchant):
    channel = webchat_channel(merchant, settings={"prechat_enabled": True, "prechat_email_required": True})
    form = admin_client_.get(url("widget_settings", channel.pk)).context["form"]
    assert (form["prechat_name"].value(), form["prechat_email"].value(), form["prechat_phone"].value()) == (
        "optional",
        "required",
        "off",
    )
    admin_client_.post(url("widget_settings", channel.pk), {**WIDGET_FORM, "prechat_phone": "required"})
    channel.refresh_from_db()
    assert channel.settings["prechat_fields"] == {"name": "required", "email": "optional", "phone": "required"}


def test_the_preview_page_loads_the_real_widget(admin_client_, agent_membership, member_client, merchant):
    channel = webchat_channel(merchant)
    html = admin_client_.get(url("widget_preview", channel.pk)).content.decode()
    assert f'<script src="/inbox/widget/{channel.public_key}.js" async></script>' in html
    assert member_client(agent_membership).get(url("widget_preview", channel.pk)).status_code == 403


def test_widget_calls_from_the_portals_own_pages_are_allowed(client, merchant):
    channel = webchat_channel(merchant, allowed_origins=["https://shop.example"])
    path = f"/inbox/widget/{channel.public_key}/session/"
    ours = client.post(path, "{}", content_type="application/json", HTTP_ORIGIN="http://testserver")
    assert ours.status_code == 200 and ours["Access-Control-Allow-Origin"] == "http://testserver"
    theirs = client.post(path, "{}", content_type="application/json", HTTP_ORIGIN="http://testserver.evil")
    assert theirs.status_code == 403


# --------------------------------------------------------------------------- pre-chat enforced server-side
@pytest.fixture
def strict_widget(merchant):
    fields = {"name": "required", "email": "optional", "phone": "required"}
    return webchat_channel(merchant, settings={"prechat_fields": fields, "consent_channel": "webchat"})


def _prechat(client, channel, **data):
    path = f"/inbox/widget/{channel.public_key}/"
    origin = channel.allowed_origins[0]
    token = client.post(path + "session/", "{}", content_type="application/json", HTTP_ORIGIN=origin).json()["token"]
    body = json.dumps({"token": token, **data})
    return client.post(path + "prechat/", body, content_type="application/json", HTTP_ORIGIN=origin)


def test_required_pre_chat_fields_are_enforced_in_words_for_customers(client, strict_widget):
    response = _prechat(client, strict_widget, email="ana@example")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Please enter your name. Please enter a valid e-mail address. Please enter your phone number.",
        "fields": {
            "name": ["Please enter your name."],
            "email": ["Please enter a valid e-mail address."],
            "phone": ["Please enter your phone number."],
        },
    }
    bad_phone = _prechat(client, strict_widget, name="Ana", phone="12")
    assert bad_phone.json()["error"]["fields"] == {
        "phone": ["Please enter a valid phone number with its country code, e.g. +34 600 111 222."]
    }
    assert not Contact.objects.exists()


def test_a_complete_pre_chat_stores_the_typed_phone(client, strict_widget):
    response = _prechat(client, strict_widget, name="Ana", phone="+34 600 111 222")
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.name, contact.phone, contact.email) == ("Ana", "+34600111222", "")


def test_a_typed_phone_never_takes_another_contacts_number(client, merchant, strict_widget):
    ContactFactory(merchant=merchant, name="Owner", phone="+34600111222")
    response = _prechat(client, strict_widget, name="Ana", phone="+34600111222")
    assert response.status_code == 200
    assert Contact.objects.get(name="Ana").phone == ""


def test_the_session_tells_the_widget_which_fields_to_ask(client, strict_widget):
    origin = strict_widget.allowed_origins[0]
    session = client.post(
        f"/inbox/widget/{strict_widget.public_key}/session/", "{}", content_type="application/json", HTTP_ORIGIN=origin
    ).json()
    assert session["config"]["prechat"] is True
    assert session["config"]["prechat_fields"] == {"name": "required", "email": "optional", "phone": "required"}


# --------------------------------------------------------------------------- demo shop
def test_the_demo_shop_serves_the_widget_only_when_the_widget_allows_it(client, merchant):
    channel = webchat_channel(merchant, settings={"demo_shop": True})
    path = reverse("demo:shop", args=[channel.public_key])
    response = client.get(path)  # no login
    html = response.content.decode()
    assert response.status_code == 200 and "<h1>Tienda Sol</h1>" in html
    assert f'<script src="/inbox/widget/{channel.public_key}.js" async></script>' in html
    assert client.get(reverse("demo:shop", args=[webchat_channel(merchant).public_key])).status_code == 404
    channel.is_active = False
    channel.save()
    assert client.get(path).status_code == 404


def test_the_printed_demo_shop_address_leads_to_the_one_shop_and_404s_when_it_is_not_one(client, merchant):
    """`make run` prints /demo-shop/: it opens the single widget that offers a shop, never a guess between two."""
    only = reverse("demo:only")
    assert client.get(only).status_code == 404  # none offers one
    channel = webchat_channel(merchant, settings={"demo_shop": True})
    webchat_channel(merchant)  # a widget without a shop does not count
    response = client.get(only)
    assert response.status_code == 302 and response["Location"] == reverse("demo:shop", args=[channel.public_key])
    webchat_channel(merchant, settings={"demo_shop": True})
    assert client.get(only).status_code == 404


def test_the_demo_shop_switch_is_on_the_widget_page(admin_client_, merchant):
    channel = webchat_channel(merchant)
    admin_client_.post(url("widget_settings", channel.pk), {**WIDGET_FORM, "demo_shop": "on"})
    channel.refresh_from_db()
    assert channel.settings["demo_shop"] is True
    html = admin_client_.get(url("widget_settings", channel.pk)).content.decode()
    assert reverse("demo:shop", args=[channel.public_key]) in html
