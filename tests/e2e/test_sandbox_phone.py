"""The sandbox phone in a real browser: a marketer plays a customer and taps "Stop promotions".

The portal runs under uvicorn in a thread of this process (tests/asgi_server.py); the tap goes through the
real webhook entry and its processing (eager Celery) inside that request. The keyword engine's answer is
sent by the inbox sender over HTTP to the server's own fake Graph API; the record of that send is a task,
collected here and run by the test (the embedded mode's worker would run it), so the phone's 2-second
poll is what shows it.
"""

from __future__ import annotations

import pytest

from apps.contacts.models import ConsentState
from apps.core.roles import Role
from apps.sandbox import services
from tests.asgi_server import portal_server
from tests.e2e.test_content_security_policy import _violations
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory
from tests.factories.sandbox import SandboxMessageFactory, template_send
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WA_ID = "34611222333"


@pytest.fixture
def eager():
    from portal.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def records(monkeypatch):
    """The sandbox's record tasks, held: recording inside the sender's request would wait on its lock."""
    held: list[tuple] = []
    from apps.sandbox import tasks

    monkeypatch.setattr(tasks.sandbox_message_record, "apply_async", lambda args, **options: held.append(tuple(args)))
    return held


def _marketing(contact) -> str:
    return ConsentState.objects.get(contact=contact, channel="whatsapp", purpose="marketing").status


def test_a_marketer_taps_stop_promotions_on_the_sandbox_phone(page, settings, eager, records):
    merchant = MerchantFactory(name="Tienda Sol")
    marketer = MembershipFactory(merchant=merchant, role=Role.MARKETER)
    channel = ChannelFactory(merchant=merchant, kind="whatsapp", sandbox=True)
    contact = ContactFactory(merchant=merchant, name="Marta Ibáñez", phone=f"+{WA_ID}")
    IdentityFactory(contact=contact, external_id=WA_ID)
    grant(contact)
    template = TemplateFactory(merchant=merchant, body="Hola {{first_name}}, 20% off this week.")
    SandboxMessageFactory(
        channel=channel, address=WA_ID, kind="template", status="read",
        payload=template_send(template, WA_ID, params={"first_name": "Marta"}),
    )  # fmt: skip
    violations = _violations(page)
    with portal_server() as portal:
        settings.CHARLA_SANDBOX_GRAPH_URL = f"{portal.url}/sandbox/graph/v21.0"
        page.goto(f"{portal.url}/accounts/login/")
        page.get_by_label("E-mail").fill(marketer.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{portal.url}/")

        page.goto(f"{portal.url}/sandbox/phone/?q=Marta")
        page.get_by_role("link", name="Marta Ibáñez").click()
        page.wait_for_url(f"{portal.url}/sandbox/phone/{contact.pk}/")
        page.get_by_text("Hola Marta, 20% off this week.").wait_for()
        page.get_by_role("button", name="Stop promotions").click()

        page.locator(".sandbox-bubble.mine", has_text="Stop promotions").wait_for()
        assert _marketing(contact) == "revoked"
        wait_until(lambda: len(records) == 1, 10, what="the keyword's answer to reach the fake Graph API")
        services.sandbox_message_record(
            channel_id=records[0][0], address=records[0][1], kind=records[0][2], payload=records[0][3],
            message_id=records[0][4],
        )  # fmt: skip
        # no reload: the thread's poll brings the shop's confirmation in
        page.locator(".sandbox-bubble.theirs", has_text="You will no longer receive marketing messages").wait_for()
        assert page.locator(".sandbox-bubble").count() == 3
    assert violations == []  # the phone's script, styles and htmx polling run under the strict CSP
