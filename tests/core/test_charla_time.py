"""Times in pages: the member's zone (or the merchant's), the one format, relative times in lists."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories.contacts import ContactFactory, grant

pytestmark = pytest.mark.django_db

BEFORE_DST = datetime(2026, 3, 28, 8, 8, tzinfo=UTC)  # 09:08 in Madrid (CET)
AFTER_DST = datetime(2026, 3, 30, 8, 8, tzinfo=UTC)  # 10:08 in Madrid (CEST)


def _contact_with_two_consents(merchant):
    contact = ContactFactory(merchant=merchant, name="Ana")
    grant(contact, channel="whatsapp", occurred_at=BEFORE_DST)
    grant(contact, channel="sms", occurred_at=AFTER_DST)
    return contact


def _cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(\d+ \w{3} \d{4} \d\d:\d\d)</td>", html)


def test_one_consent_event_shows_the_same_time_everywhere_on_the_contact_page(member_client, admin_membership):
    """Issue 13: the grid showed 08:08 (UTC) and the history 09:08 (Madrid) for one event."""
    merchant = admin_membership.merchant
    assert merchant.timezone == "Europe/Madrid"
    contact = _contact_with_two_consents(merchant)
    html = member_client(admin_membership).get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert sorted(_cells(html)) == ["28 Mar 2026 09:08", "30 Mar 2026 10:08"]
    assert "via web form on 28 Mar 2026 09:08" in html
    assert "via web form on 30 Mar 2026 10:08" in html
    assert "08:08" not in html


def test_the_members_own_zone_overrides_the_merchants(member_client, admin_membership):
    user = admin_membership.user
    user.timezone = "America/New_York"
    user.save(update_fields=["timezone"])
    contact = _contact_with_two_consents(admin_membership.merchant)
    html = member_client(admin_membership).get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    # New York moved to summer time on 8 March: UTC-4 on both days.
    assert sorted(_cells(html)) == ["28 Mar 2026 04:08", "30 Mar 2026 04:08"]
    assert "via web form on 28 Mar 2026 04:08" in html
    assert "09:08" not in html


def test_the_page_hands_the_zone_and_formats_to_the_browser(member_client, admin_membership):
    html = member_client(admin_membership).get(reverse("core:dashboard")).content.decode()
    assert '<script id="charla-time" type="application/json">{"timezone": "Europe/Madrid", ' in html
    assert '"formats": {"datetime": "j M Y H:i", "date": "j M Y", "time": "H:i"}' in html


def test_relative_time_renders_a_time_element_with_the_absolute_title():
    template = Template(
        "{% load charla_time %}{{ value|relative_time }}|{{ none|relative_time }}|{{ value|local_datetime }}"
    )
    travel = time_machine.travel(datetime(2026, 3, 30, 8, 13, tzinfo=UTC), tick=False)
    with travel, timezone.override("Europe/Madrid"), translation.override("en"):
        shown = template.render(Context({"value": AFTER_DST, "none": None}))
    assert shown == (
        '<time datetime="2026-03-30T08:08:00+00:00" title="30 Mar 2026 10:08" data-relative>5 min</time>'
        "||30 Mar 2026 10:08"
    )


def test_conversation_rows_show_how_long_ago_the_last_message_was(member_client, agent_membership):
    from tests.factories.conversations import ConversationFactory

    conversation = ConversationFactory(
        merchant=agent_membership.merchant, last_message_at=timezone.now() - timedelta(hours=3)
    )
    html = member_client(agent_membership).get(reverse("conversations:inbox"), {"view": "all"}).content.decode()
    relative = r'<time datetime="[^"]+" title="[^"]+" data-relative>3 h</time>'
    assert re.search(rf'<span class="row-time muted">{relative}</span>', html)
    assert f'id="row-{conversation.pk}"' in html


def test_api_times_stay_iso_utc_for_a_signed_in_member_too(member_client, admin_membership):
    user = admin_membership.user
    user.timezone = "America/New_York"
    user.save(update_fields=["timezone"])
    contact = _contact_with_two_consents(admin_membership.merchant)
    body = member_client(admin_membership).get("/api/v1/consent-events/", {"contact": contact.pk}).json()
    assert sorted(event["at"] for event in body["results"]) == ["2026-03-28T08:08:00Z", "2026-03-30T08:08:00Z"]


def test_member_edits_their_own_zone_on_the_profile_page(member_client, agent_membership):
    client = member_client(agent_membership)
    assert client.get(reverse("profile")).status_code == 200
    response = client.post(reverse("profile"), {"full_name": "Ana Agent", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    agent_membership.user.refresh_from_db()
    assert (agent_membership.user.full_name, agent_membership.user.timezone) == ("Ana Agent", "Asia/Tokyo")
    page = client.get(reverse("core:dashboard")).content.decode()
    assert '{"timezone": "Asia/Tokyo", ' in page
    client.post(reverse("profile"), {"full_name": "Ana Agent", "timezone": ""})
    agent_membership.user.refresh_from_db()
    assert agent_membership.user.timezone == ""


def test_profile_refuses_a_zone_that_does_not_exist(member_client, agent_membership):
    response = member_client(agent_membership).post(reverse("profile"), {"full_name": "", "timezone": "Mars/Olympus"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "timezone": ["Select a valid choice. Mars/Olympus is not one of the available choices."]
    }
    agent_membership.user.refresh_from_db()
    assert agent_membership.user.timezone == ""


def test_profile_needs_a_signed_in_user(client):
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
