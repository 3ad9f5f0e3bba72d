import itertools

from apps.contacts.models import AttributeDefinition, ConsentKeyword, ContactImport
from apps.contacts.services import consent_record
from tests.factories.contacts import ContactFactory

SECRET = "SWEEP-SECRET"


def _contact(owner):
    contact = ContactFactory(merchant=owner, name=SECRET, phone="", email="sweep-secret@example.test", tags=[SECRET])
    consent_record(merchant=owner, contact=contact, channel="whatsapp", purpose="marketing", action="grant",
                   source="agent", wording=SECRET)  # fmt: skip
    return {"contact_id": contact.pk}


def _import(owner):
    imp = ContactImport.objects.create(merchant=owner, filename=SECRET, csv_text=f"name\n{SECRET}\n")
    return {"import_id": imp.pk}


_counter = itertools.count()


def _keyword(owner):
    word = f"sweep-secret-{next(_counter)}"
    return {"keyword_id": ConsentKeyword.objects.create(merchant=owner, word=word, kind="opt_out").pk}


def _attribute(owner):
    key = f"sweep-{next(_counter)}"
    return {"attribute_id": AttributeDefinition.objects.create(merchant=owner, key=key, label=SECRET).pk}


def _api_contact(owner):
    return {"pk": _contact(owner)["contact_id"]}


ROUTES = {
    "contacts:detail": _contact,
    "contacts:edit": _contact,
    "contacts:consent_add": _contact,
    "contacts:export": _contact,
    "contacts:erase": _contact,
    "contacts:merge": _contact,
    "contacts:import_map": _import,
    "contacts:keyword_delete": _keyword,
    "contacts:attribute_delete": _attribute,
    "api:contact-detail": _api_contact,
    "api:contact-consents": _api_contact,
    "api:contact-export": _api_contact,
    "api:contact-merge": _api_contact,
}

EXEMPT = {
    "contacts:confirm": "public double opt-in link, authorised by its signed token (django.core.signing)",
}

ROUTES.update(
    {
        "api:contact-attribute-detail": lambda owner: {"pk": _attribute(owner)["attribute_id"]},
        "api:consent-keyword-detail": lambda owner: {"pk": _keyword(owner)["keyword_id"]},
    }
)
