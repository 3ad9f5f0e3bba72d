"""The campaign wizard: four steps, each validated on its own and saved on the draft; launch needs someone
to reach; the test send's contact search stays inside the merchant; the results page reads as a funnel."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.exclusions import exclusion_label, failure_label
from apps.campaigns.models import Campaign, CampaignStatus, Delivery, Segment
from apps.campaigns.segment_builder import Row, RowsInvalid, rows_to_rules
from apps.contacts import schedule
from apps.conversations.models import Message
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_(member_client, marketer_membership):
    return member_client(marketer_membership)


@pytest.fixture
def shop(merchant, channel, template):
    return {"merchant": merchant, "channel": channel, "template": template}


def _step1(client_, shop, **extra):
    data = {
        "name": "Spring",
        "channel": shop["channel"].pk,
        "template": shop["template"].pk,
        "map_first_name": "first_name",
        "fallback_first_name": "there",
        **extra,
    }
    return client_.post(reverse("campaigns:new"), data)


def _draft(shop, **fields) -> Campaign:
    fields.setdefault("segment", SegmentFactory(merchant=shop["merchant"], rules={"tags_any": ["vip"]}))
    return CampaignFactory(merchant=shop["merchant"], channel=shop["channel"], template=shop["template"], **fields)


def _errors(response) -> str:
    return response.content.decode()


# --------------------------------------------------------------------------- step 1: template
def test_step1_creates_the_draft_without_an_audience_and_moves_on(client_, shop):
    shop["merchant"].settings = {
        schedule.QUIET_HOURS_SETTING: {"start": "22:00", "end": "08:00"},
        schedule.FREQUENCY_CAP_SETTING: {"max": 1, "period": "week"},
    }
    shop["merchant"].save()
    response = _step1(client_, shop)
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:wizard_audience", kwargs={"campaign_id": campaign.pk})
    assert (campaign.status, campaign.segment_id) == ("draft", None)
    assert campaign.params == {"first_name": "first_name"} and campaign.fallbacks == {"first_name": "there"}
    # Schedule defaults come from the merchant, so step 3 opens with them.
    assert campaign.quiet_hours == {"start": "22:00", "end": "08:00"}
    assert campaign.frequency_cap == {"max": 1, "period": "week"}


def test_step1_missing_template_is_refused(client_, shop):
    response = _step1(client_, shop, template="")
    assert response.status_code == 400
    assert "Pick an approved template." in _errors(response)
    assert not Campaign.objects.exists()


def test_step1_refuses_a_template_not_approved(client_, shop):
    pending = TemplateFactory(merchant=shop["merchant"], status="pending", name="later")
    response = _step1(client_, shop, template=pending.pk)
    assert response.status_code == 400
    assert "Pick one of your approved templates." in _errors(response)


def test_step1_unmapped_variable_is_refused(client_, shop):
    response = _step1(client_, shop, map_first_name="", fallback_first_name="  ")
    assert response.status_code == 400
    assert "Map {{first_name}} to a contact field or type a fallback." in _errors(response)
    assert not Campaign.objects.exists()


def test_step1_offers_the_merchants_attribute_keys_only(client_, shop, other_merchant):
    ContactFactory(merchant=shop["merchant"], attributes={"city": "Madrid", "tier": "gold"})
    ContactFactory(merchant=other_merchant, attributes={"secret_key": "x"})
    response = client_.get(reverse("campaigns:wizard_template_fields"), {"template": shop["template"].pk})
    body = _errors(response)
    assert 'value="attributes.city"' in body and 'value="attributes.tier"' in body
    assert "secret_key" not in body


def test_step1_preview_shows_each_variable_as_what_fills_it(client_, shop):
    response = client_.get(
        reverse("campaigns:wizard_template_fields"),
        {"template": shop["template"].pk, "map_first_name": "first_name", "fallback_first_name": "there"},
    )
    body = _errors(response)
    assert '<mark data-variable="first_name">[First name, else “there”]</mark>' in body
    assert '<button type="button" disabled>Stop promotions</button>' in body
    unmapped = client_.get(
        reverse("campaigns:wizard_template_fields"), {"template": shop["template"].pk, "map_first_name": ""}
    )
    assert '<mark data-variable="first_name" class="unmapped">[unmapped {{first_name}}]</mark>' in _errors(unmapped)


def test_step1_preview_of_another_merchants_template_shows_nothing(client_, other_merchant):
    foreign = TemplateFactory(merchant=other_merchant, body="SECRET {{first_name}}")
    response = client_.get(reverse("campaigns:wizard_template_fields"), {"template": foreign.pk})
    assert response.status_code == 200 and "SECRET" not in _errors(response)


def test_reload_resumes_step1_with_the_saved_mapping(client_, shop):
    campaign = _draft(shop, params={"first_name": "name"}, fallbacks={"first_name": "amigo"})
    body = _errors(client_.get(reverse("campaigns:wizard_template", kwargs={"campaign_id": campaign.pk})))
    assert '<option value="name" selected>Name</option>' in body
    assert 'value="amigo"' in body


# --------------------------------------------------------------------------- step 2: audience
def test_builder_rows_make_the_existing_rule_format():
    rows = [
        Row("tag", "is", "vip"),
        Row("tag", "is_not", "staff"),
        Row("attributes.city", "eq", "Madrid"),
        Row("attributes.orders", "gt", "3"),
        Row("consent", "is", "granted"),
        Row("last_seen", "within_days", "30"),
    ]
    assert rows_to_rules(rows, match="all", attribute_keys=["city", "orders"]) == {
        "tags_all": ["vip"],
        "tags_none": ["staff"],
        "attributes": [{"key": "city", "op": "eq", "value": "Madrid"}, {"key": "orders", "op": "gt", "value": 3}],
        "consent": {"channel": "whatsapp", "purpose": "marketing", "status": ["granted"]},
        "last_seen_within_days": 30,
    }
    assert rows_to_rules([Row("tag", "is", "a"), Row("tag", "is", "b")], match="any", attribute_keys=[]) == {
        "tags_any": ["a", "b"]
    }


@pytest.mark.parametrize(
    ("rows", "match", "message"),
    [
        ([Row()], "all", "Row 1 is empty: choose a field and fill in a value, or remove the row."),
        ([Row("tag", "is", "")], "all", "Row 1: fill in a value."),
        ([Row("tag", "gt", "x")], "all", "Row 1: “Tag” takes “is”, “is not”."),
        ([Row("last_seen", "within_days", "soon")], "all", "Row 1: give a whole number of days (0 to 36500)."),
        ([Row("consent", "is", "maybe")], "all", "Row 1: choose one of granted, pending, revoked, none."),
        ([Row("attributes.nope", "eq", "x")], "all", "Row 1: choose a field."),
        (
            [Row("tag", "is", "a"), Row("consent", "is", "granted")],
            "any",
            "“Any of these” works with “Tag is” rows only; use “all of these” to combine other rows.",
        ),
        ([], "all", "Add at least one row, or pick a saved segment."),
    ],
)
def test_builder_rows_refused_with_a_message_per_row(rows, match, message):
    with pytest.raises(RowsInvalid) as exc:
        rows_to_rules(rows, match=match, attribute_keys=[])
    assert exc.value.errors == [message]


def test_step2_builds_a_segment_inline_and_moves_on(client_, shop):
    ContactFactory(merchant=shop["merchant"], attributes={"city": "Madrid"})  # offers the "city" attribute
    campaign = _draft(shop, segment=None)
    response = client_.post(
        reverse("campaigns:wizard_audience", kwargs={"campaign_id": campaign.pk}),
        {
            "mode": "build",
            "segment_name": "VIPs in Madrid",
            "match": "all",
            "row_field": ["tag", "attributes.city"],
            "row_op": ["is", "eq"],
            "row_value": ["vip", "Madrid"],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:wizard_schedule", kwargs={"campaign_id": campaign.pk})
    campaign.refresh_from_db()
    assert campaign.segment.name == "VIPs in Madrid"
    assert campaign.segment.rules == {
        "tags_all": ["vip"],
        "attributes": [{"key": "city", "op": "eq", "value": "Madrid"}],
    }


def test_step2_empty_segment_row_is_refused(client_, shop):
    campaign = _draft(shop, segment=None)
    response = client_.post(
        reverse("campaigns:wizard_audience", kwargs={"campaign_id": campaign.pk}),
        {"mode": "build", "segment_name": "X", "match": "all", "row_field": [""], "row_op": ["is"], "row_value": [""]},
    )
    assert response.status_code == 400
    assert "Row 1 is empty: choose a field and fill in a value, or remove the row." in _errors(response)
    campaign.refresh_from_db()
    assert campaign.segment_id is None and not Segment.objects.filter(name="X").exists()


def test_step2_needs_a_segment_when_picking_one(client_, shop):
    campaign = _draft(shop, segment=None)
    response = client_.post(
        reverse("campaigns:wizard_audience", kwargs={"campaign_id": campaign.pk}), {"mode": "segment"}
    )
    assert response.status_code == 400
    assert "Pick a saved segment, or build an audience." in _errors(response)


def test_step2_another_merchants_segment_is_not_a_choice(client_, shop, other_merchant):
    campaign = _draft(shop, segment=None)
    foreign = SegmentFactory(merchant=other_merchant)
    response = client_.post(
        reverse("campaigns:wizard_audience", kwargs={"campaign_id": campaign.pk}),
        {"mode": "segment", "segment": foreign.pk},
    )
    assert response.status_code == 400
    campaign.refresh_from_db()
    assert campaign.segment_id is None


def test_step2_add_and_remove_rows_without_saving(client_, shop):
    campaign = _draft(shop, segment=None)
    url = reverse("campaigns:wizard_audience", kwargs={"campaign_id": campaign.pk})
    base = {"mode": "build", "segment_name": "X", "match": "all"}
    added = client_.post(
        url, {**base, "row_field": ["tag"], "row_op": ["is"], "row_value": ["vip"], "row_action": "add"}
    )
    assert added.status_code == 200 and _errors(added).count('name="row_value"') == 2
    removed = client_.post(
        url,
        {
            **base,
            "row_field": ["tag", "consent"],
            "row_op": ["is", "is"],
            "row_value": ["vip", "granted"],
            "row_action": "remove-0",
        },
    )
    body = _errors(removed)
    assert body.count('name="row_value"') == 1 and 'value="granted"' in body and 'value="vip"' not in body
    campaign.refresh_from_db()
    assert campaign.segment_id is None and not Segment.objects.filter(name="X").exists()


def test_live_count_names_every_exclusion_in_plain_words(client_, make_contact):
    for _ in range(2):
        make_contact("granted", tags=["vip"])
    for _ in range(3):
        make_contact(None, tags=["vip"])
    make_contact("revoked", tags=["vip"])
    make_contact("pending", tags=["vip"])
    make_contact("granted", tags=["vip"], wa=False, phone="")
    response = client_.get(
        reverse("campaigns:wizard_count"),
        {"mode": "build", "match": "all", "row_field": "tag", "row_op": "is", "row_value": "vip"},
    )
    body = _errors(response)
    assert "<strong>8</strong> contacts in this audience" in body
    assert '<strong data-field="reachable">2</strong> can receive marketing on WhatsApp now' in body
    items = [
        '<li data-reason="no_consent">3 have not agreed to WhatsApp marketing</li>',
        '<li data-reason="no_identity">1 cannot be reached on WhatsApp</li>',
        '<li data-reason="pending_confirmation">1 has not confirmed the WhatsApp marketing opt-in yet</li>',
        '<li data-reason="revoked">1 stopped WhatsApp marketing</li>',
    ]
    assert '<ul class="plain exclusions">' + "".join(items) + "</ul>" in body


def test_live_count_of_a_bad_row_says_what_is_wrong(client_):
    response = client_.get(
        reverse("campaigns:wizard_count"),
        {"mode": "build", "match": "all", "row_field": "tag", "row_op": "is", "row_value": ""},
    )
    assert '<p class="field-error">Row 1: fill in a value.</p>' in _errors(response)


def test_exclusion_labels_exact_strings():
    assert exclusion_label("no_consent", 18) == "18 have not agreed to WhatsApp marketing"
    assert exclusion_label("no_consent", 1) == "1 has not agreed to WhatsApp marketing"
    assert exclusion_label("suppressed", 3) == "3 are suppressed"
    assert exclusion_label("suppressed", 1) == "1 is suppressed"
    assert exclusion_label("frequency_cap", 2) == "2 reached their frequency cap"
    assert exclusion_label("revoked", 4) == "4 stopped WhatsApp marketing"
    assert exclusion_label("mystery", 2) == "2 were left out"
    assert failure_label("131026", 2) == "2 failed: the message could not be delivered (code 131026)"
    assert failure_label("transport", 1) == "1 failed: no answer from Meta (the network failed)"
    assert failure_label("999", 1) == "1 failed: the provider refused it (code 999)"


# --------------------------------------------------------------------------- step 3: schedule and pace
def _schedule(client_, campaign, **data):
    base = {"when": "now", "per_minute": "", "quiet_start": "", "quiet_end": "", "cap_max": "", "cap_period": "day"}
    return client_.post(reverse("campaigns:wizard_schedule", kwargs={"campaign_id": campaign.pk}), {**base, **data})


def test_step3_reads_the_date_in_the_merchants_zone(client_, shop):
    campaign = _draft(shop)
    response = _schedule(
        client_, campaign, when="later", send_at="2027-07-01T10:00", per_minute="120", quiet_start="21:00",
        quiet_end="09:00", cap_max="2", cap_period="week",
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:wizard_review", kwargs={"campaign_id": campaign.pk})
    campaign.refresh_from_db()
    assert campaign.scheduled_at == datetime.fromisoformat("2027-07-01T08:00:00+00:00")  # Madrid is UTC+2 in July
    assert campaign.throttle_per_second == 2
    assert campaign.quiet_hours == {"start": "21:00", "end": "09:00"}
    assert campaign.frequency_cap == {"max": 2, "period": "week"}


def test_step3_labels_the_date_with_the_zone(client_, shop):
    campaign = _draft(shop)
    body = _errors(client_.get(reverse("campaigns:wizard_schedule", kwargs={"campaign_id": campaign.pk})))
    assert "Send at (Europe/Madrid time)" in body


def test_step3_past_date_is_refused(client_, shop):
    campaign = _draft(shop)
    past = timezone.localtime(timezone.now() - timedelta(hours=1), shop["merchant"].tz).strftime("%Y-%m-%dT%H:%M")
    response = _schedule(client_, campaign, when="later", send_at=past)
    assert response.status_code == 400
    assert "Pick a time in the future (it is now" in _errors(response) and "in Europe/Madrid)." in _errors(response)
    campaign.refresh_from_db()
    assert campaign.scheduled_at is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"when": "later", "send_at": ""}, "Pick a date and time, or choose “Send when I launch”."),
        ({"per_minute": "90"}, "Give a multiple of 60 (the pace is kept per second): 60 or 120."),
        ({"quiet_start": "21:00"}, "Give both ends of the quiet hours, or neither."),
        ({"quiet_start": "9pm", "quiet_end": "09:00"}, "Write the hours as HH:MM, e.g. 21:00 and 09:00."),
    ],
)
def test_step3_bad_input_names_the_field(client_, shop, data, message):
    campaign = _draft(shop)
    response = _schedule(client_, campaign, **data)
    assert response.status_code == 400 and message in _errors(response)


# --------------------------------------------------------------------------- step 4: review and launch
def test_review_says_everything_in_words_and_confirms_the_reachable_count(client_, shop, make_contact):
    for _ in range(2):
        make_contact("granted", tags=["vip"])
    make_contact(None, tags=["vip"])
    campaign = _draft(shop, throttle_per_second=1, quiet_hours={"start": "21:00", "end": "09:00"})
    body = _errors(client_.get(reverse("campaigns:wizard_review", kwargs={"campaign_id": campaign.pk})))
    assert "{{first_name}} is filled with the contact's first name, or “there” when it is empty." in body
    assert "Pace: 60 messages a minute." in body
    assert "No messages between 21:00 and 09:00 in each contact's time" in body
    assert 'data-confirm="Send “' + campaign.name + '” to 2 people now?"' in body
    assert "Launch to 2 people" in body


def test_launch_is_refused_when_nobody_is_reachable(client_, shop, make_contact):
    make_contact(None, tags=["vip"])
    campaign = _draft(shop)
    review = _errors(client_.get(reverse("campaigns:wizard_review", kwargs={"campaign_id": campaign.pk})))
    assert "it cannot be launched" in review and "Launch to" not in review
    response = client_.post(reverse("campaigns:wizard_launch", kwargs={"campaign_id": campaign.pk}), follow=True)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert (
        f"Nobody in “{campaign.segment.name}” can receive WhatsApp marketing right now (1 in the audience): "
        "launch refused. Change the audience in step 2."
    ) in _errors(response)


def test_launch_without_an_audience_is_refused(client_, shop):
    campaign = _draft(shop, segment=None)
    response = client_.post(reverse("campaigns:wizard_launch", kwargs={"campaign_id": campaign.pk}), follow=True)
    assert "Pick an audience (step 2) before launching." in _errors(response)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_launch_with_someone_reachable_schedules_it(client_, shop, make_contact):
    make_contact("granted", tags=["vip"])
    campaign = _draft(shop)
    response = client_.post(reverse("campaigns:wizard_launch", kwargs={"campaign_id": campaign.pk}))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED


def test_steps_of_a_launched_campaign_go_to_its_page(client_, shop):
    campaign = _draft(shop, status=CampaignStatus.RUNNING)
    for name in ("wizard_template", "wizard_audience", "wizard_schedule", "wizard_review"):
        response = client_.get(reverse(f"campaigns:{name}", kwargs={"campaign_id": campaign.pk}))
        assert response["Location"] == reverse("campaigns:detail", kwargs={"campaign_id": campaign.pk}), name


def test_api_still_requires_a_segment(api, shop):
    response = api.post(
        "/api/v1/campaigns/",
        {"name": "X", "channel": shop["channel"].pk, "template": shop["template"].pk, "params": {"first_name": "name"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["segment"] == ["This field is required."]


# --------------------------------------------------------------------------- test send: contact search
def test_contact_search_finds_this_merchants_contacts_only(client_, shop, other_merchant):
    mine = ContactFactory(merchant=shop["merchant"], name="Lucía Pérez")
    ContactFactory(merchant=other_merchant, name="Lucía Otra")
    campaign = _draft(shop)
    response = client_.get(reverse("campaigns:test_contacts", kwargs={"campaign_id": campaign.pk}), {"q": "Lucía"})
    body = _errors(response)
    assert f'data-contact="{mine.pk}"' in body and body.count("data-contact=") == 1
    assert "Otra" not in body


def test_contact_search_query_count_does_not_grow_with_matches(client_, shop, django_assert_num_queries):
    campaign = _draft(shop)
    url = reverse("campaigns:test_contacts", kwargs={"campaign_id": campaign.pk})
    ContactFactory(merchant=shop["merchant"], name="Marta Uno")
    client_.get(url, {"q": "Marta"})
    with django_assert_num_queries(5) as one:
        client_.get(url, {"q": "Marta"})
    for n in range(8):
        ContactFactory(merchant=shop["merchant"], name=f"Marta {n}")
    with django_assert_num_queries(len(one.captured_queries)):
        body = client_.get(url, {"q": "Marta"}).content.decode()
    assert body.count("data-contact=") == 9


def test_contact_search_needs_two_letters(client_, shop):
    ContactFactory(merchant=shop["merchant"], name="Ana")
    campaign = _draft(shop)
    response = client_.get(reverse("campaigns:test_contacts", kwargs={"campaign_id": campaign.pk}), {"q": "A"})
    assert "data-contact=" not in _errors(response) and "Type at least two letters." in _errors(response)


# --------------------------------------------------------------------------- results
@pytest.fixture
def seeded(shop):
    """10 in the audience: 2 left out (no consent, frequency cap), 1 failed, 7 reached (2 sent, 2 delivered,
    3 read); 2 replied, 1 opted out after the campaign."""
    from apps.contacts.services import consent_record

    started = timezone.now() - timedelta(hours=2)
    campaign = _draft(shop, status=CampaignStatus.COMPLETED, started_at=started, audience_size=10)
    rows = [("skipped", "no_consent", ""), ("skipped", "frequency_cap", ""), ("failed", "", "131026")]
    rows += [("sent", "", "")] * 2 + [("delivered", "", "")] * 2 + [("read", "", "")] * 3
    contacts = []
    for state, reason, code in rows:
        contact = ContactFactory(merchant=shop["merchant"])
        contacts.append(contact)
        Delivery.objects.create(
            merchant=shop["merchant"], campaign=campaign, contact=contact, state=state, reason=reason, error_code=code
        )
    for contact in contacts[-2:]:
        conversation = ConversationFactory(merchant=shop["merchant"], channel=shop["channel"], contact=contact)
        Message.objects.create(
            merchant=shop["merchant"],
            conversation=conversation,
            channel=shop["channel"],
            direction="inbound",
            body="hi",
        )
    consent_record(
        merchant=shop["merchant"], contact=contacts[3], channel="whatsapp", purpose="marketing", action="revoke",
        source="keyword",
    )  # fmt: skip
    return campaign


def test_results_funnel_numbers_from_a_seeded_campaign(client_, seeded):
    response = client_.get(reverse("campaigns:detail", kwargs={"campaign_id": seeded.pk}))
    funnel = [(step["key"], step["count"], step["share"]) for step in response.context["funnel"]]
    assert funnel == [
        ("audience", 10, None),
        ("reachable", 8, 80),
        ("sent", 7, 88),
        ("delivered", 5, 71),
        ("read", 3, 60),
        ("replied", 2, 67),
        ("opted_out", 1, 50),
    ]
    body = _errors(response)
    assert '<td data-field="reachable">8</td>' in body and 'data-share="sent">88%</td>' in body
    assert '<rect x="100" y="0" width="320" height="18" data-bar="audience"></rect>' in body
    assert '<rect x="100" y="52" width="224" height="18" data-bar="sent"></rect>' in body
    assert '<li data-reason="frequency_cap">1 reached their frequency cap</li>' in body
    assert '<li data-reason="no_consent">1 has not agreed to WhatsApp marketing</li>' in body
    assert '<li data-code="131026">1 failed: the message could not be delivered (code 131026)</li>' in body
    assert reverse("campaigns:export", kwargs={"campaign_id": seeded.pk}) in body


def test_results_page_query_count_is_constant(client_, seeded, shop, django_assert_num_queries):
    url = reverse("campaigns:detail", kwargs={"campaign_id": seeded.pk})
    client_.get(url)  # warm the session and the membership caches alike for both measured requests
    with django_assert_num_queries(8) as small:
        client_.get(url)
    for _ in range(20):
        Delivery.objects.create(
            merchant=shop["merchant"], campaign=seeded, contact=ContactFactory(merchant=shop["merchant"]), state="read"
        )
    with django_assert_num_queries(len(small.captured_queries)):
        client_.get(url)


def test_other_channel_of_the_merchant_is_not_offered(client_, shop):
    ChannelFactory(merchant=shop["merchant"], kind="messenger", name="Page")
    body = _errors(client_.get(reverse("campaigns:new")))
    assert "Page" not in body and shop["channel"].name in body


def test_funnel_after_an_empty_step_has_no_share():
    from apps.campaigns.selectors import campaign_funnel

    results = {
        "audience": 3,
        "skipped": {"no_consent": 3},
        "sent_total": 0,
        "delivered_total": 0,
        "states": {"read": 0},
        "replied": 0,
        "opted_out": 0,
    }
    assert [(s["key"], s["count"], s["share"]) for s in campaign_funnel(results=results)] == [
        ("audience", 3, None),
        ("reachable", 0, 0),
        ("sent", 0, None),
        ("delivered", 0, None),
        ("read", 0, None),
        ("replied", 0, None),
        ("opted_out", 0, None),
    ]
