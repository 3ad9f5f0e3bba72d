"""A marketer's key screen in a real browser: the four wizard steps (template and its variables, the
segment builder with its live count in words, schedule and pace, review), the launch confirmation,
live progress and the results funnel.

The portal runs under uvicorn (portal.asgi, WebSockets through the Redis channel layer) in a thread of
this process against the test database; Meta's send API is the local fake in
tests/fakes/graph.py. The Celery tasks (start, dispatch, batch chains) run eagerly inside
the launch request's thread: the browser watches the progress page in a second tab while that request
sends. The real worker path (a separate `celery worker`, SIGKILLed mid-send) is covered by
tests/campaigns/test_worker_crash.py.
"""

from __future__ import annotations

import re

import pytest

from apps.campaigns.models import Campaign, Delivery, DeliveryState
from apps.core.roles import Role
from tests.asgi_server import portal_server
from tests.conversations.live_support import redis_layer  # noqa: F401
from tests.factories.campaigns import TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]

# Records every value the live cells take, so the test can tell a socket update from a reload.
WATCH = """() => {
  window.__sameDocument = true;
  window.__seen = {status: [], sent_total: []};
  for (const field of ["status", "sent_total"]) {
    const cell = document.querySelector(`#live [data-field="${field}"]`);
    window.__seen[field].push(cell.textContent.trim());
    new MutationObserver(() => window.__seen[field].push(cell.textContent.trim()))
      .observe(cell, {childList: true, characterData: true, subtree: true});
  }
}"""


@pytest.fixture
def eager():
    from portal.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


def _contact(merchant, consent: str | None, tags=("vip",)):
    contact = ContactFactory(merchant=merchant, tags=list(tags))
    IdentityFactory(merchant=merchant, contact=contact, external_id=contact.phone.lstrip("+"))
    if consent in ("granted", "pending"):
        grant(contact, double_opt_in=consent == "pending")
    elif consent == "revoked":
        grant(contact)
        _revoke(contact)
    return contact


def _revoke(contact) -> None:
    from apps.contacts.services import consent_record

    consent_record(
        merchant=contact.merchant,
        contact=contact,
        channel="whatsapp",
        purpose="marketing",
        action="revoke",
        source="keyword",
    )


@pytest.fixture
def shop():
    merchant = MerchantFactory(name="Wizard Shop")
    marketer = MembershipFactory(merchant=merchant, role=Role.MARKETER, user__email="marketer@wizard.test")
    channel = ChannelFactory(merchant=merchant, name="Shop WhatsApp")
    template = TemplateFactory(merchant=merchant, name="spring_sale", body="Hola {{first_name}}, 20% off this week.")
    consented = [_contact(merchant, "granted") for _ in range(5)]
    excluded = {"revoked": _contact(merchant, "revoked"), "pending": _contact(merchant, "pending")}
    excluded["none"] = _contact(merchant, None)
    outsider = _contact(merchant, "granted", tags=("newsletter",))  # consented but not in the segment
    stranger = _contact(MerchantFactory(), "granted")  # another merchant's VIP
    return {
        "merchant": merchant,
        "marketer": marketer,
        "channel": channel,
        "template": template,
        "consented": consented,
        "excluded": excluded,
        "outsider": outsider,
        "stranger": stranger,
    }


def test_marketer_builds_launches_and_watches_a_campaign_live(browser, shop, fake_graph, eager):
    with portal_server() as server:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(20_000)
            refused: list[str] = []  # every step runs under the strict CSP: nothing may be refused
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            _sign_in(page, server.url, shop["marketer"])
            campaign = _wizard(page, server.url, shop)
            watcher = context.new_page()
            watcher.set_default_timeout(30_000)
            _launch_and_watch(page, watcher, server.url, campaign)
            _results(page)
            assert refused == []
        finally:
            context.close()

    # Exactly one request per consented member of the segment, nobody else, with the template filled.
    phones = sorted(c.phone.lstrip("+") for c in shop["consented"])
    assert sorted(fake_graph.per_recipient().elements()) == phones
    body = fake_graph.accepted[0]["body"]
    assert body["template"]["name"] == "spring_sale"
    assert body["biz_opaque_callback_data"].startswith("charla-delivery:")
    states = Delivery.objects.filter(campaign=campaign).values_list("state", "reason")
    assert sorted(states) == sorted(
        [(DeliveryState.SENT, "")] * 5
        + [
            (DeliveryState.SKIPPED, "no_consent"),
            (DeliveryState.SKIPPED, "revoked"),
            (DeliveryState.SKIPPED, "pending_confirmation"),
        ]
    )


def _sign_in(page, portal: str, marketer) -> None:
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("E-mail").fill(marketer.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{portal}/")


def _audience(page, expected: str) -> str:
    """The audience box once htmx has swapped in an answer containing `expected` (one box, settled)."""
    page.wait_for_function(
        """(expected) => {
          const boxes = document.querySelectorAll("#audience");
          return boxes.length === 1 && boxes[0].textContent.includes(expected);
        }""",
        arg=expected,
    )
    return page.locator("#audience").inner_text()


def _wizard(page, portal: str, shop) -> Campaign:
    # Step 1: the template, its preview, and its one variable mapped to a field with a fallback.
    page.goto(f"{portal}/campaigns/new/")
    page.get_by_label("Campaign name").fill("Spring sale to VIPs")
    page.get_by_label("Channel").select_option(str(shop["channel"].pk))
    page.get_by_label("Template", exact=True).select_option(str(shop["template"].pk))
    mapped = page.get_by_label("{{first_name}} is filled with")
    mapped.wait_for()
    assert (
        page.locator('#template-preview mark[data-variable="first_name"]').inner_text() == "[unmapped {{first_name}}]"
    )
    mapped.select_option("first_name")
    page.get_by_label("Fallback for {{first_name}}").fill("there")
    page.get_by_label("Fallback for {{first_name}}").blur()
    page.locator('#template-preview mark[data-variable="first_name"]', has_text="First name, else “there”").wait_for()
    assert "20% off this week." in page.locator("#template-preview").inner_text()
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/campaigns/\d+/steps/audience/$"))
    campaign = Campaign.objects.get(merchant=shop["merchant"], name="Spring sale to VIPs")
    assert campaign.segment_id is None and campaign.params == {"first_name": "first_name"}

    # A reload resumes the draft at its step.
    page.reload()
    assert page.locator('[aria-current="step"]').inner_text() == "2. Audience"

    # Step 2: the segment builder (no JSON): one row, a second row added then removed, live count in words.
    page.get_by_label("Build an audience").check()
    page.get_by_label("Name the new audience").fill("VIP customers")
    page.get_by_label("Row 1 field").select_option("tag")
    page.get_by_label("Row 1 operator").select_option("is")
    page.get_by_label("Row 1 value").fill("vip")
    text = _audience(page, "8 contacts in this audience")
    assert "5 can receive marketing on WhatsApp now" in text
    for words in (
        "1 has not agreed to WhatsApp marketing",
        "1 stopped WhatsApp marketing",
        "1 has not confirmed the WhatsApp marketing opt-in yet",
    ):
        assert words in text
    page.get_by_role("button", name="Add a row").click()
    page.get_by_label("Row 2 field").wait_for()
    page.get_by_role("button", name="Remove row 2").click()
    page.get_by_label("Row 2 field").wait_for(state="detached")
    assert page.get_by_label("Row 1 value").input_value() == "vip"
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/steps/schedule/$"))

    # Step 3: send on launch, slow enough that the run spans several progress pushes, no quiet hours so the
    # test does not depend on the hour it runs at.
    assert page.get_by_label("Send at (Europe/Madrid time)").is_visible()
    page.get_by_label("Messages per minute").fill("120")
    page.get_by_label("Quiet hours from (each contact's time)").fill("")
    page.get_by_label("Quiet hours until").fill("")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/steps/review/$"))
    campaign.refresh_from_db()
    assert campaign.segment.rules == {"tags_all": ["vip"]}
    assert campaign.status == "draft" and campaign.throttle_per_second == 2 and campaign.quiet_hours is None
    review = page.locator("#review").inner_text()
    assert "Pace: 120 messages a minute." in review and "Sends as soon as you launch." in review
    return campaign


def _launch_and_watch(page, watcher, portal: str, campaign: Campaign) -> None:
    detail = f"{portal}/campaigns/{campaign.pk}/"
    watcher.goto(detail)
    status = watcher.locator('#live [data-field="status"]')
    watcher.locator('#live[data-connected="true"]').wait_for(state="attached")  # the socket's first payload
    assert status.inner_text().strip() == "Draft"
    watcher.evaluate(WATCH)

    # Launch asks for confirmation with the reachable count; the request then sends (eager tasks) while
    # the other tab watches the socket.
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    with page.expect_navigation(url=detail, timeout=60_000):
        page.get_by_role("button", name="Launch to 5 people").click()
    assert dialogs == [f"Send “{campaign.name}” to 5 people now?"]

    status.filter(has_text=re.compile("^Completed$")).wait_for()
    seen = watcher.evaluate("window.__seen")
    assert watcher.evaluate("window.__sameDocument") is True  # no reload: the socket changed the cells
    assert "Running" in seen["status"] and seen["status"].index("Running") < seen["status"].index("Completed")
    assert seen["sent_total"][0] == "0" and seen["sent_total"][-1] == "5"
    assert watcher.locator('#live [data-field="reachable"]').inner_text() == "5"
    assert watcher.locator('#live [data-share="sent"]').inner_text() == "100%"
    assert watcher.locator('#live [data-bar="sent"]').get_attribute("width") == "200"
    assert watcher.locator('#live [data-state="sent"]').inner_text() == "5"
    assert watcher.locator('#live [data-state="skipped"]').inner_text() == "3"
    assert watcher.locator('#live [data-state="pending"]').inner_text() == "0"


def _results(page) -> None:
    results = page.locator("#results")
    assert results.locator('[data-field="status"]').inner_text() == "Completed"
    funnel = {
        row.get_attribute("data-step"): row.locator("td").first.inner_text()
        for row in results.locator("tr[data-step]").all()
    }
    assert funnel == {
        "audience": "8",
        "reachable": "5",
        "sent": "5",
        "delivered": "0",
        "read": "0",
        "replied": "0",
        "opted_out": "0",
    }
    assert results.locator("svg.funnel-chart rect").count() == 7
    left_out = results.locator("h3", has_text="Left out, by reason").locator("xpath=following-sibling::ul[1]")
    assert sorted(left_out.locator("li").all_inner_texts()) == [
        "1 has not agreed to WhatsApp marketing",
        "1 has not confirmed the WhatsApp marketing opt-in yet",
        "1 stopped WhatsApp marketing",
    ]
    assert "No failures." in results.inner_text()
    assert results.get_by_role("link", name="Every delivery (CSV)").is_visible()
