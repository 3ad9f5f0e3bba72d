"""Contact.display_name: what the portal calls a contact."""

from __future__ import annotations

import pytest

from tests.factories.contacts import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "Ana Torres", "phone": "+34600111222", "email": "ana@shop.test"}, "Ana Torres"),
        ({"name": "", "phone": "+34600111222", "email": "ana@shop.test"}, "+34600111222"),
        ({"name": "", "phone": "", "email": "ana@shop.test"}, "ana@shop.test"),
    ],
)
def test_display_name_falls_back_from_name_to_phone_to_email(merchant, fields, expected):
    contact = ContactFactory(merchant=merchant, **fields)
    assert contact.display_name == expected == str(contact)


def test_a_contact_with_nothing_known_is_a_numbered_visitor(merchant):
    contact = ContactFactory(merchant=merchant, name="", phone="", email="")
    assert contact.display_name == f"Visitor #{contact.pk}" == str(contact)
