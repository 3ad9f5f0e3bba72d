import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.contacts import privacy_hooks
from apps.contacts.models import ConsentEvent, ConsentKeyword, ConsentState, Contact, ContactImport
from apps.contacts.services import consent_confirm_token, consent_record
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.tickets import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_c(member_client, admin_membership):
    return member_client(admin_membership)


@pytest.fixture
def agent_c(member_client, agent_membership):
    return member_client(agent_membership)


@pytest.fixture
def marketer_c(member_client, marketer_membership):
    return member_client(marketer_membership)


# ------------------------------------------------------------------ list
def test_list_shows_contacts_with_constant_queries(admin_c, merchant, django_assert_num_queries):
    for _ in range(3):
        IdentityFactory(contact=ContactFactory(merchant=merchant))
    with django_assert_num_queries(6) as few:
        admin_c.get(reverse("contacts:list"))
    for _ in range(30):
        grant(IdentityFactory(contact=ContactFactory(merchant=merchant)).contact)
    with django_assert_num_queries(len(few.captured_queries)):
        response = admin_c.get(reverse("contacts:list"))
    assert response.status_code == 200
    assert response.content.count(b'href="/contacts/') >= 33


def test_list_filters_and_keyset_pages(admin_c, merchant, monkeypatch):
    from apps.contacts import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    contacts = [ContactFactory(merchant=merchant, name=f"Person {i}", tags=["vip"] if i % 2 else []) for i in range(5)]
    grant(contacts[0])
    page1 = admin_c.get(reverse("contacts:list"))
    assert [c.pk for c in page1.context["contacts"]] == [contacts[4].pk, contacts[3].pk]
    page2 = admin_c.get(f"{reverse('contacts:list')}?{page1.context['next_query']}")
    assert [c.pk for c in page2.context["contacts"]] == [contacts[2].pk, contacts[1].pk]
    vip = admin_c.get(reverse("contacts:list"), {"tag": "vip"})
    assert {c.pk for c in vip.context["contacts"]} == {contacts[1].pk, contacts[3].pk}
    granted = admin_c.get(reverse("contacts:list"), {"consent": "whatsapp:granted"})
    assert [c.pk for c in granted.context["contacts"]] == [contacts[0].pk]
    assert b"granted" in granted.content


def test_list_htmx_next_page_returns_rows_only(admin_c, merchant, monkeypatch):
    from apps.contacts import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    first, second = ContactFactory(merchant=merchant), ContactFactory(merchant=merchant)
    response = admin_c.get(reverse("contacts:list"), {"after": second.pk}, HTTP_HX_REQUEST="true")
    assert b"<h1>" not in response.content and str(first.pk).encode() in response.content


# ------------------------------------------------------------------ contact page
def test_contact_page_proves_consent_in_plain_words(admin_c, merchant):
    from datetime import UTC, datetime

    contact = ContactFactory(merchant=merchant, name="Ana")
    grant(contact, wording="Yes, send me Acme offers on WhatsApp", ip_address="1.2.3.4",
          occurred_at=datetime(2026, 3, 3, 13, 2, tzinfo=UTC))  # fmt: skip
    response = admin_c.get(reverse("contacts:detail", args=[contact.pk]))
    text = response.content.decode()
    assert ("Granted marketing on WhatsApp via web form on 3 Mar 2026 14:02 — shown: "
            "“Yes, send me Acme offers on WhatsApp” — IP 1.2.3.4") in text.replace("&#x27;", "'")  # fmt: skip


def test_contact_page_shows_panels_registered_by_other_apps(admin_c, merchant, monkeypatch):
    monkeypatch.setattr(privacy_hooks, "_page_panels", {})
    privacy_hooks.register_contact_panel(
        "tickets",
        privacy_hooks.ContactPanel(title="Tickets", render=lambda *, contact, request: f"<p>T-{contact.pk}</p>"),
    )
    privacy_hooks.register_contact_panel(
        "secret", privacy_hooks.ContactPanel(title="Campaign stats", render=lambda **kw: "x", capability="campaigns")
    )
    contact = ContactFactory(merchant=merchant)
    response = admin_c.get(reverse("contacts:detail", args=[contact.pk]))
    assert f"<p>T-{contact.pk}</p>".encode() in response.content


def test_panel_capability_hides_it_from_agents(agent_c, merchant, monkeypatch):
    monkeypatch.setattr(privacy_hooks, "_page_panels", {})
    privacy_hooks.register_contact_panel(
        "stats",
        privacy_hooks.ContactPanel(title="Campaign stats", render=lambda **kw: "STATS-HTML", capability="campaigns"),
    )
    response = agent_c.get(reverse("contacts:detail", args=[ContactFactory(merchant=merchant).pk]))
    assert b"STATS-HTML" not in response.content


def test_pending_double_opt_in_shows_a_confirmation_link(admin_c, merchant):
    contact = ContactFactory(merchant=merchant)
    grant(contact, double_opt_in=True)
    response = admin_c.get(reverse("contacts:detail", args=[contact.pk]))
    assert b"/contacts/confirm/" in response.content


def test_agent_edits_profile_and_bad_phone_is_shown_on_the_field(agent_c, merchant):
    contact = ContactFactory(merchant=merchant)
    url = reverse("contacts:edit", args=[contact.pk])
    response = agent_c.post(url, {"name": "New", "phone": "123"})
    assert response.status_code == 400 and "phone" in response.context["form"].errors
    response = agent_c.post(url, {"name": "New", "phone": "+34600999111", "tags": "a, b", "whatsapp_id": "34600999111"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.tags) == ("New", "+34600999111", ["a", "b"])


def test_create_contact_page(agent_c):
    response = agent_c.post(reverse("contacts:create"), {"name": "Zoe", "email": "zoe@x.test"})
    assert response.status_code == 302
    assert Contact.objects.get().email == "zoe@x.test"


def test_create_contact_page_refuses_an_empty_contact(agent_c):
    response = agent_c.post(reverse("contacts:create"), {"name": "", "phone": "", "email": ""})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Give the contact a name, a phone number or an e-mail address."
    ]
    assert not Contact.objects.exists()


def test_agent_records_consent_with_wording_required(agent_c, agent_membership, merchant):
    contact = ContactFactory(merchant=merchant)
    url = reverse("contacts:consent_add", args=[contact.pk])
    response = agent_c.post(url, {"channel": "whatsapp", "purpose": "marketing", "action": "grant", "wording": ""})
    assert response.status_code == 400 and not ConsentEvent.objects.exists()
    response = agent_c.post(url, {"channel": "whatsapp", "purpose": "marketing", "action": "grant",
                                  "wording": "Acme may send me offers on WhatsApp"})  # fmt: skip
    assert response.status_code == 302
    event = ConsentEvent.objects.get()
    assert (event.source, event.actor, event.wording) == ("agent", agent_membership.user,
                                                          "Acme may send me offers on WhatsApp")  # fmt: skip


# ------------------------------------------------------------------ roles
@pytest.mark.parametrize("name", ["contacts:import", "contacts:ledger_export", "contacts:settings"])
def test_agent_cannot_reach_manage_pages(agent_c, name):
    assert agent_c.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ["contacts:export", "contacts:erase", "contacts:merge"])
def test_agent_cannot_export_erase_or_merge(agent_c, merchant, name):
    contact = ContactFactory(merchant=merchant, name="Keep")
    assert agent_c.post(reverse(name, args=[contact.pk]), {"confirm": "ERASE", "source": 1}).status_code == 403
    contact.refresh_from_db()
    assert contact.name == "Keep" and contact.erased_at is None


def test_marketer_erases_with_confirmation(marketer_c, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana")
    url = reverse("contacts:erase", args=[contact.pk])
    marketer_c.post(url, {"confirm": "nope"})
    contact.refresh_from_db()
    assert contact.erased_at is None
    assert marketer_c.post(url, {"confirm": "ERASE"}).status_code == 302
    contact.refresh_from_db()
    assert contact.erased_at and contact.name == ""
    page = marketer_c.get(reverse("contacts:detail", args=[contact.pk]))
    assert b"Erased contact" in page.content


def test_marketer_exports_contact_and_ledger(marketer_c, merchant):
    contact = ContactFactory(merchant=merchant, name="Ana")
    grant(contact)
    export = marketer_c.get(reverse("contacts:export", args=[contact.pk]))
    assert export.json()["profile"]["name"] == "Ana"
    ledger = marketer_c.get(reverse("contacts:ledger_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(ledger.streaming_content).decode())))
    assert rows[0]["contact_name"] == "Ana"


def test_merge_page(marketer_c, merchant):
    source, target = ContactFactory(merchant=merchant), ContactFactory(merchant=merchant)
    response = marketer_c.post(reverse("contacts:merge", args=[target.pk]), {"source": target.pk})
    assert response.status_code == 400
    response = marketer_c.post(reverse("contacts:merge", args=[target.pk]), {"source": source.pk})
    assert response.status_code == 302
    assert Contact.objects.get(pk=source.pk).merged_into_id == target.pk
    assert marketer_c.get(reverse("contacts:detail", args=[source.pk])).url.endswith(f"/{target.pk}/")


# ------------------------------------------------------------------ import flow
def test_import_upload_map_preview_and_import(marketer_c, merchant):
    data = b"Name,Phone,Consent,When,Wording,How\nAna,+34600111001,grant,2026-01-05,Offers by WhatsApp,shop form\n"
    response = marketer_c.post(reverse("contacts:import"), {"file": SimpleUploadedFile("l.csv", data)})
    imp = ContactImport.objects.get()
    assert response.url == reverse("contacts:import_map", args=[imp.pk])
    form = {"col_0": "name", "col_1": "phone", "col_2": "consent_action", "col_3": "consent_date",
            "col_4": "consent_wording", "col_5": "consent_source", "consent_channel": "whatsapp"}  # fmt: skip
    preview = marketer_c.post(reverse("contacts:import_map", args=[imp.pk]), {**form, "preview": "1"})
    assert preview.status_code == 200 and b"Preview" in preview.content and not Contact.objects.exists()
    done = marketer_c.post(reverse("contacts:import_map", args=[imp.pk]), {**form, "import": "1"})
    assert done.status_code == 200 and b"Imported" in done.content
    contact = Contact.objects.get()
    assert ConsentState.objects.get(contact=contact).status == "granted"


def test_import_with_bad_rows_lists_lines_and_changes_nothing(marketer_c):
    data = b"Phone\n+34600111001\nnope\n"
    marketer_c.post(reverse("contacts:import"), {"file": SimpleUploadedFile("l.csv", data)})
    imp = ContactImport.objects.get()
    response = marketer_c.post(reverse("contacts:import_map", args=[imp.pk]), {"col_0": "phone", "import": "1"})
    assert b"Line 3" in response.content and not Contact.objects.exists()


def test_upload_of_a_non_csv_is_a_form_error(marketer_c):
    response = marketer_c.post(reverse("contacts:import"), {"file": SimpleUploadedFile("x.csv", b"")})
    assert response.status_code == 400 and not ContactImport.objects.exists()


# ------------------------------------------------------------------ settings
def test_settings_add_keyword_normalised_and_remove(admin_c, merchant):
    data = {"form": "keyword", "kw-word": " ¡PÁRA! ", "kw-kind": "opt_out", "kw-language": "es"}
    response = admin_c.post(reverse("contacts:settings"), data)
    assert response.status_code == 302
    keyword = ConsentKeyword.objects.get()
    assert keyword.word == "para"
    admin_c.post(reverse("contacts:keyword_delete", args=[keyword.pk]))
    assert not ConsentKeyword.objects.exists()


def test_settings_consent_options_need_the_settings_capability(marketer_c, admin_c, merchant):
    marketer_c.post(reverse("contacts:settings"), {"form": "settings", "cs-double_opt_in": "on"})
    merchant.refresh_from_db()
    assert not merchant.setting("double_opt_in")
    admin_c.post(
        reverse("contacts:settings"), {"form": "settings", "cs-double_opt_in": "on", "cs-help_text": "Call us"}
    )
    merchant.refresh_from_db()
    assert merchant.setting("double_opt_in") is True and merchant.setting("help_text") == "Call us"


# ------------------------------------------------------------------ double opt-in link
def test_confirmation_link_get_changes_nothing_post_confirms(client, merchant):
    contact = ContactFactory(merchant=merchant)
    event = grant(contact, double_opt_in=True)
    url = reverse("contacts:confirm", args=[consent_confirm_token(event=event)])
    assert client.get(url).status_code == 200
    assert ConsentState.objects.get(contact=contact).status == "pending"
    response = client.post(url, REMOTE_ADDR="5.6.7.8")
    assert response.status_code == 200
    state = ConsentState.objects.get(contact=contact)
    assert state.status == "granted" and state.last_event.ip_address == "5.6.7.8"
    assert client.post(url).context["already"] is True
    assert ConsentEvent.objects.count() == 2


def test_forged_confirmation_link_is_refused(client, merchant):
    contact = ContactFactory(merchant=merchant)
    event = grant(contact, double_opt_in=True)
    token = consent_confirm_token(event=event)
    assert client.post(reverse("contacts:confirm", args=[token[:-3] + "abc"])).status_code == 400
    assert ConsentState.objects.get(contact=contact).status == "pending"


# ------------------------------------------------------------------ admin
def test_admin_ledger_is_read_only(client, merchant, django_user_model):
    superuser = django_user_model.objects.create_superuser(email="root@example.test", password="x-Secret-123")
    client.force_login(superuser)
    event = grant(ContactFactory(merchant=merchant))
    change_url = reverse("admin:contacts_consentevent_change", args=[event.pk])
    assert client.get(change_url).status_code == 200  # viewable
    client.post(change_url, {"wording": "forged"})
    assert (
        client.post(reverse("admin:contacts_consentevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:contacts_consentevent_add")).status_code == 403
    event = ConsentEvent.objects.get(pk=event.pk)
    assert event.wording == "Send me offers from Acme on WhatsApp"


def test_settings_store_the_marketing_quiet_hours_and_cap(admin_c, merchant):
    data = {
        "form": "settings",
        "cs-quiet_start": "21:00",
        "cs-quiet_end": "09:00",
        "cs-cap_max": "2",
        "cs-cap_period": "week",
    }
    assert admin_c.post(reverse("contacts:settings"), data).status_code == 302
    merchant.refresh_from_db()
    assert merchant.setting("marketing_quiet_hours") == {"start": "21:00", "end": "09:00"}
    assert merchant.setting("marketing_frequency_cap") == {"max": 2, "period": "week"}
    page = admin_c.get(reverse("contacts:settings")).content.decode()
    assert 'name="cs-quiet_start" value="21:00"' in page and 'name="cs-cap_max" value="2"' in page
    admin_c.post(reverse("contacts:settings"), {"form": "settings", "cs-quiet_start": "", "cs-quiet_end": ""})
    merchant.refresh_from_db()
    assert (merchant.setting("marketing_quiet_hours"), merchant.setting("marketing_frequency_cap")) == (None, None)


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"cs-quiet_start": "21:00"}, "quiet_end", "“” is not a time as HH:MM (00:00-23:59)."),
        (
            {"cs-quiet_start": "9pm", "cs-quiet_end": "09:00"},
            "quiet_start",
            "“9pm” is not a time as HH:MM (00:00-23:59).",
        ),
        ({"cs-cap_max": "0"}, "cap_max", "Ensure this value is greater than or equal to 1."),
    ],
)
def test_bad_marketing_rules_are_form_errors_and_store_nothing(admin_c, merchant, fields, field, error):
    response = admin_c.post(reverse("contacts:settings"), {"form": "settings", **fields})
    assert response.context["settings_form"].errors == {field: [error]}
    merchant.refresh_from_db()
    assert merchant.settings == {}


def test_a_20000_column_upload_is_refused_without_a_mapping_page(marketer_c):
    data = (",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("x" * 20_000) + "\n").encode()
    response = marketer_c.post(reverse("contacts:import"), {"file": SimpleUploadedFile("wide.csv", data)})
    assert response.status_code == 400
    assert "The file has 20000 columns; at most 200 can be imported." in response.content.decode()
    assert len(response.content) < 100_000
    assert not ContactImport.objects.exists()


def test_detail_query_count_is_exact_for_1_and_20_rows_each(admin_c, merchant, django_assert_num_queries):
    """Identities, the consent history and the registered panels (tickets and the contact's conversations)."""
    contact = ContactFactory(merchant=merchant)

    def add(i):  # one identity, one consent event, one ticket in the panel
        IdentityFactory(contact=contact)
        action = "revoke" if i % 2 else "grant"
        consent_record(
            merchant=merchant, contact=contact, channel="whatsapp", purpose="marketing", action=action,
            source="web_form", wording="Send me offers from Acme on WhatsApp",
        )  # fmt: skip
        make_ticket(merchant, contact=contact, subject=f"Panel ticket {i}")

    add(0)
    page = reverse("contacts:detail", args=[contact.pk])
    with django_assert_num_queries(13) as one:
        admin_c.get(page)
    for i in range(1, 20):
        add(i)
    with django_assert_num_queries(len(one.captured_queries)):
        response = admin_c.get(page)
    assert len(response.context["identities"]) == 20 and len(response.context["history"]) == 20
    assert response.content.count(b"Panel ticket ") == 20
