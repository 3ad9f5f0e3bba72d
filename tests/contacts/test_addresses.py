"""The WhatsApp address rule replies, the consent gate and campaigns share."""

import pytest

from apps.contacts.addresses import whatsapp_address

BSUID = "US.13491208655302741918"


@pytest.mark.parametrize(
    "phone,identities,expected",
    [
        ("+34600111222", [("whatsapp", "34600111999"), ("whatsapp_user", BSUID)], "34600111999"),  # wa_id first
        ("+34600111222", [("whatsapp_user", BSUID)], "34600111222"),  # the number wins over the user id
        ("", [("whatsapp_user", BSUID)], BSUID),  # a user id alone is an address
        ("", [("whatsapp_user", "US.1"), ("whatsapp_user", BSUID)], BSUID),  # the latest of a kind
        ("", [("messenger", "7231405968472130"), ("webchat", "v-1")], None),  # other channels' ids are not
        ("34600111222", [], None),  # not E.164: no number
        ("", [("whatsapp_user", "")], None),
    ],
)
def test_whatsapp_address(phone, identities, expected):
    assert whatsapp_address(phone=phone, identities=identities) == expected
