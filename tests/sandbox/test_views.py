"""The sandbox phone's pages: roles, search, the rendered thread, replies, other merchants' ids."""

from __future__ import annotations

import pytest

from apps.contacts.models import ConsentState
from apps.core.roles import Role
from apps.sandbox.models import SandboxMessage
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import MembershipFactory
from tests.factories.sandbox import SandboxMessageFactory, template_send
from tests.sandbox.conftest import WA_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(merchant, member_client):
    return member_client(MembershipFactory(merchant=merchant, role=Role.ADMIN))


def _promotion(channel, **template):
    template = TemplateFactory(merchant=channel.merchant, body="Hola {{first_name}}, 20% off this week.", **template)
    payload = template_send(template, WA_ID, params={"first_name": "Marta"})
    if template.header_media_url:
        payload["template"]["components"].insert(
            0, {"type": "header", "parameters": [{"type": "image", "image": {"link": template.header_media_url}}]}
        )
    return SandboxMessageFactory(channel=channel, address=WA_ID, payload=payload, kind="template", status="read")


@pytest.mark.parametrize(
    ("role", "status", "posted"), [(Role.ADMIN, 200, 302), (Role.MARKETER, 200, 302), (Role.AGENT, 403, 403)]
)
def test_admins_and_marketers_play_the_customer_agents_do_not(
    merchant, member_client, customer, wa_sandbox, portal_http, role, status, posted
):
    client = member_client(MembershipFactory(merchant=merchant, role=role))
    assert client.get("/sandbox/phone/").status_code == status
    assert client.get(f"/sandbox/phone/{customer.pk}/").status_code == status
    assert client.get(f"/sandbox/phone/{customer.pk}/messages/").status_code == status
    assert client.post(f"/sandbox/phone/{customer.pk}/reply/", {"text": "hi"}).status_code == posted
    assert SandboxMessage.objects.count() == (0 if role == Role.AGENT else 1)


def test_the_index_leads_to_the_phone(admin):
    response = admin.get("/sandbox/")
    assert (response.status_code, response["Location"]) == (302, "/sandbox/phone/")


def test_contacts_are_found_by_name_and_by_phone(admin, merchant, customer, wa_sandbox):
    ContactFactory(merchant=merchant, name="Jordi Puig")
    by_name = admin.get("/sandbox/phone/", {"q": "Marta"}).content.decode()
    assert "Marta Ibáñez" in by_name and "Jordi Puig" not in by_name
    by_phone = admin.get("/sandbox/phone/", {"q": f"+{WA_ID}"}).content.decode()
    assert "Marta Ibáñez" in by_phone and "Jordi Puig" not in by_phone


def test_without_a_sandbox_channel_the_page_says_so(admin, customer):
    ChannelFactory(merchant=customer.merchant)  # a real channel is never offered
    assert "This merchant has no sandbox channel" in admin.get("/sandbox/phone/").content.decode()
    assert "No sandbox channel." in admin.get(f"/sandbox/phone/{customer.pk}/").content.decode()


def test_a_template_is_drawn_with_its_header_body_and_quick_reply(admin, customer, wa_sandbox):
    promotion = _promotion(
        wa_sandbox, header_media_url="https://cdn.example.test/autumn.jpg", header_media_type="image"
    )
    page = admin.get(f"/sandbox/phone/{customer.pk}/").content.decode()
    assert '<div class="sandbox-header">[image]</div>' in page
    assert '<div class="sandbox-text">Hola Marta, 20% off this week.</div>' in page
    assert f'<input type="hidden" name="message" value="{promotion.pk}">' in page
    assert '<button type="submit" name="button" value="0" class="sandbox-button">Stop promotions</button>' in page
    assert "· read" in page
    assert f'hx-get="/sandbox/phone/{customer.pk}/messages/?channel={wa_sandbox.pk}" hx-trigger="every 2s"' in page


def test_the_polled_thread_costs_the_same_queries_for_one_message_or_many(
    admin, customer, wa_sandbox, django_assert_num_queries
):
    url = f"/sandbox/phone/{customer.pk}/messages/"
    _promotion(wa_sandbox)
    with django_assert_num_queries(9):
        assert admin.get(url).status_code == 200
    for _ in range(5):
        _promotion(wa_sandbox)
        SandboxMessageFactory(channel=wa_sandbox, address=WA_ID)
    with django_assert_num_queries(9):
        page = admin.get(url).content.decode()
    assert page.count("sandbox-bubble theirs") == 11


def test_tapping_stop_promotions_on_the_page_revokes_and_shows_the_tap(
    admin, customer, wa_sandbox, eager, portal_http, django_capture_on_commit_callbacks
):
    promotion = _promotion(wa_sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/sandbox/phone/{customer.pk}/reply/", {"channel": wa_sandbox.pk, "message": promotion.pk, "button": "0"},
            HTTP_HX_REQUEST="true",
        )  # fmt: skip
    assert response.status_code == 200
    assert '<div class="sandbox-bubble mine"' in response.content.decode()
    assert ConsentState.objects.get(contact=customer, channel="whatsapp").status == "revoked"


def test_an_empty_message_is_refused_with_its_reason(admin, customer, wa_sandbox):
    response = admin.post(f"/sandbox/phone/{customer.pk}/reply/", {"text": " "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert '<p class="errors" role="alert">Type a message first.</p>' in response.content.decode()
    assert SandboxMessage.objects.count() == 0


@pytest.mark.parametrize(("message", "button"), [("x", "0"), ("1", "-1"), ("", "")])
def test_a_malformed_tap_is_refused(admin, customer, wa_sandbox, message, button):
    response = admin.post(f"/sandbox/phone/{customer.pk}/reply/", {"message": message, "button": button})
    assert response.status_code == 400
    assert "Tap a button of a message on this phone." in response.content.decode()


def test_a_plain_form_post_redirects_back_to_the_thread(admin, customer, wa_sandbox, eager, portal_http,
                                                        django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/sandbox/phone/{customer.pk}/reply/", {"text": "hello"})
    assert (response.status_code, response["Location"]) == (
        302,
        f"/sandbox/phone/{customer.pk}/?channel={wa_sandbox.pk}",
    )


def test_another_merchants_contact_and_channel_are_404(admin, customer, wa_sandbox, other_merchant):
    foreign_contact = ContactFactory(merchant=other_merchant)
    foreign_channel = ChannelFactory(merchant=other_merchant, sandbox=True)
    assert admin.get(f"/sandbox/phone/{foreign_contact.pk}/").status_code == 404
    assert admin.get(f"/sandbox/phone/{foreign_contact.pk}/messages/").status_code == 404
    assert admin.post(f"/sandbox/phone/{foreign_contact.pk}/reply/", {"text": "hi"}).status_code == 404
    assert admin.get(f"/sandbox/phone/{customer.pk}/", {"channel": foreign_channel.pk}).status_code == 404
    response = admin.post(f"/sandbox/phone/{customer.pk}/reply/", {"channel": foreign_channel.pk, "text": "hi"})
    assert response.status_code == 404
    assert SandboxMessage.objects.count() == 0


def test_a_real_channel_is_never_a_phone_channel(admin, customer):
    real = ChannelFactory(merchant=customer.merchant)
    assert admin.get(f"/sandbox/phone/{customer.pk}/", {"channel": real.pk}).status_code == 404
