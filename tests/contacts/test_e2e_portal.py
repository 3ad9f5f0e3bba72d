"""A marketer proves a consent from the contact page, and imports a CSV with preview, in a real browser."""

import pytest

from apps.contacts.models import ConsentEvent, Contact
from apps.core.roles import Role
from tests.factories.contacts import ContactFactory
from tests.factories.merchants import PASSWORD, MembershipFactory, MerchantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_record_consent_and_import_from_the_portal(live_server, page, tmp_path):
    merchant = MerchantFactory(name="Browser Shop", timezone="UTC")
    membership = MembershipFactory(merchant=merchant, role=Role.MARKETER, user__email="mk@browser.test")
    contact = ContactFactory(merchant=merchant, name="Ana Browser", phone="+34600123123")
    _sign_in(page, live_server, membership.user.email)

    page.goto(f"{live_server.url}/contacts/")
    page.get_by_role("link", name="Ana Browser").click()
    page.get_by_label("Channel").select_option("whatsapp")
    page.get_by_label("Exact wording shown or said").fill("Browser Shop may send me offers on WhatsApp")
    page.get_by_role("button", name="Record").click()
    history = page.locator("ol.history li").first
    assert "Granted marketing on WhatsApp via an agent" in history.inner_text()
    assert "“Browser Shop may send me offers on WhatsApp”" in history.inner_text()
    assert ConsentEvent.objects.get(contact=contact).actor == membership.user

    csv_file = tmp_path / "list.csv"
    csv_file.write_text("name,phone\nZoe,+34600123124\nBad,123\n")
    page.goto(f"{live_server.url}/contacts/import/")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("button", name="Preview").click()
    assert "Line 3" in page.locator(".errors").inner_text()
    assert not Contact.objects.filter(name="Zoe").exists()
