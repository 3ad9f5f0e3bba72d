"""The demo shop's contacts: ~200 people with identities, attributes and a consent history.

Written set-based through the same bulk path as the CSV import (`fast_insert`); each ledger event is
checked by `consent_validate` and gets its resulting status from the ledger's own state machine, so the
rows are what `consent_record` would have written. The one erased contact goes through `contact_erase`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from apps.contacts.models import (
    AttributeDefinition,
    AttributeType,
    ConsentAction,
    ConsentChannel,
    ConsentEvent,
    ConsentSource,
    ConsentState,
    ConsentStatus,
    Contact,
    ContactIdentity,
    ContactImport,
    ContactImportStatus,
    IdentityKind,
    Purpose,
)
from apps.contacts.services import contact_erase, phone_normalize
from apps.contacts.services.bulk import fast_insert
from apps.contacts.services.consent import consent_next_status, consent_validate
from apps.contacts.services.contacts import email_normalize, phone_single_timezone
from apps.core import demo_data
from apps.core.roles import Role
from apps.merchants.models import Merchant

CONTACTS = 200
# How many contacts follow each consent story (they add up to CONTACTS).
PROFILES = {
    "form": 90,  # granted WhatsApp marketing on the shop's web form
    "import": 40,  # granted in the shop, imported from its list
    "widget": 25,  # granted web-chat marketing in the widget's pre-chat form
    "stop_before": 6,  # granted, then sent STOP before the campaign
    "stop_after": 5,  # granted, then sent STOP after the campaign
    "pending": 1,  # asked by form with double opt-in, never confirmed
    "erased": 1,  # asked to be forgotten
    "none": 32,  # never gave marketing consent
}
FORM_WORDING = "Sí, quiero recibir ofertas de Tienda Sol por WhatsApp. Puedo darme de baja respondiendo STOP."
EMAIL_WORDING = "Sí, quiero recibir la newsletter de Tienda Sol por correo electrónico."
WIDGET_WORDING = "Quiero recibir novedades de Tienda Sol en este chat."
IMPORT_WORDING = "Acepto recibir promociones de Tienda Sol por WhatsApp (hoja de firmas en tienda)."
FORM_URL = "https://tiendasol.example/suscribete"


@dataclass
class _Person:
    contact: Contact
    profile: str
    events: list[ConsentEvent]


def seed_contacts(*, merchant: Merchant, members: dict) -> None:
    if Contact.objects.for_merchant(merchant).exists():
        return
    now = timezone.now()
    rng = demo_data.demo_rng("contacts")
    _attribute_definitions(merchant)
    people = _people(merchant, rng, now)
    contacts = [p.contact for p in people]
    created = [c.first_seen_at for c in contacts]
    fast_insert(Contact, contacts)
    # auto_now_add stamped "now" on insert: spread the history over the last 30 days.
    for contact, at in zip(contacts, created, strict=True):
        contact.created_at = at
    Contact.objects.bulk_update(contacts, ["created_at"], batch_size=500)
    fast_insert(ContactIdentity, _identities(merchant, people, rng))
    imp = _import_record(merchant, members, now)
    _ledger_write(merchant, people, rng, now, imp)
    erased = next(p.contact for p in people if p.profile == "erased")
    contact_erase(contact=erased)


def _attribute_definitions(merchant: Merchant) -> None:
    AttributeDefinition.objects.bulk_create([
        AttributeDefinition(merchant=merchant, key="city", label="Ciudad", type=AttributeType.TEXT),
        AttributeDefinition(merchant=merchant, key="plan", label="Plan", type=AttributeType.TEXT),
        AttributeDefinition(merchant=merchant, key="orders", label="Pedidos", type=AttributeType.NUMBER),
    ])  # fmt: skip


def _people(merchant: Merchant, rng, now: datetime) -> list[_Person]:
    profiles = [name for name, count in PROFILES.items() for _ in range(count)]
    rng.shuffle(profiles)
    phones: set[str] = set()
    people = []
    for profile in profiles:
        name = demo_data.full_name(rng)
        phone = _phone(rng, phones)
        city, zone = rng.choice(demo_data.CITIES)
        email = ""
        if rng.random() < 0.6:
            local = demo_data.ascii_slug(name.rsplit(" ", 1)[0])
            email = email_normalize(f"{local}{rng.randint(1, 99)}@{rng.choice(demo_data.EMAIL_DOMAINS)}")
        created = demo_data.days_ago(now, rng, 1, demo_data.HISTORY_DAYS)
        tags = sorted(set(rng.sample(demo_data.TAGS, rng.randint(0, 2))) | {"cliente"})
        contact = Contact(
            merchant=merchant, name=name, phone=phone, email=email, timezone=zone,
            phone_timezone=phone_single_timezone(phone), locale="es", tags=tags,
            attributes={"city": city, "plan": rng.choice(demo_data.PLANS), "orders": rng.randint(0, 25)},
            first_seen_at=created, last_seen_at=demo_data.days_ago(now, rng, 0, (now - created).days),
        )  # fmt: skip
        people.append(_Person(contact=contact, profile=profile, events=[]))
    return people


def _phone(rng, taken: set[str]) -> str:
    while True:
        phone = phone_normalize(f"+34 6{rng.randint(0, 99_999_999):08d}")
        if phone not in taken:
            taken.add(phone)
            return phone


def _identities(merchant: Merchant, people: list[_Person], rng) -> list[ContactIdentity]:
    rows = []
    for index, person in enumerate(people):
        contact = person.contact
        rows.append(_identity(merchant, contact, IdentityKind.WHATSAPP, contact.phone.lstrip("+")))
        if rng.random() < 0.3:
            rows.append(_identity(merchant, contact, IdentityKind.MESSENGER, f"{7_100_000_000_000_000 + index}"))
        if person.profile == "widget" or rng.random() < 0.1:
            rows.append(_identity(merchant, contact, IdentityKind.WEBCHAT, f"v_demo{index:04d}{rng.getrandbits(40):x}"))
    return rows


def _identity(merchant: Merchant, contact: Contact, kind: str, external_id: str) -> ContactIdentity:
    return ContactIdentity(merchant=merchant, contact=contact, kind=kind, external_id=external_id)


def _import_record(merchant: Merchant, members: dict, now: datetime) -> ContactImport:
    count = PROFILES["import"] + PROFILES["stop_after"]
    return ContactImport.objects.create(
        merchant=merchant, created_by=members[Role.MARKETER].user, filename="clientes-tienda-fisica.csv",
        mapping={"telefono": "phone", "nombre": "name"}, status=ContactImportStatus.COMPLETED,
        summary={"rows": count, "created": count, "updated": 0, "consents": count}, completed_at=now,
    )  # fmt: skip


# ------------------------------------------------------------------ the consent ledger
def _event(person: _Person, channel: str, action: str, source: str, at: datetime, **fields) -> None:
    consent_validate(
        channel=channel, purpose=Purpose.MARKETING, action=action, source=source, wording=fields.get("wording", ""),
        evidence_url=fields.get("evidence_url", ""), ip_address=fields.get("ip_address"),
    )  # fmt: skip
    contact = person.contact
    person.events.append(ConsentEvent(
        merchant_id=contact.merchant_id, contact=contact, channel=channel, purpose=Purpose.MARKETING,
        action=action, source=source, occurred_at=at, **fields,
    ))  # fmt: skip


def _story(person: _Person, rng, now: datetime, imp: ContactImport) -> None:
    """The person's consent events, oldest first."""
    wa, profile, sent = ConsentChannel.WHATSAPP, person.profile, timedelta(days=demo_data.CAMPAIGN_SENT_DAYS_AGO)
    form = {"wording": FORM_WORDING, "evidence_url": FORM_URL, "ip_address": f"192.0.2.{rng.randint(1, 254)}"}
    granted = demo_data.days_ago(now, rng, demo_data.CAMPAIGN_SENT_DAYS_AGO + 8, demo_data.HISTORY_DAYS - 1)
    stop = {"evidence_message_id": f"wamid.demo-stop-{person.contact.pk}", "actor_label": f"Keyword on {wa}"}
    if profile in ("form", "stop_before", "erased"):
        _event(person, wa, ConsentAction.GRANT, ConsentSource.WEB_FORM, granted, **form)
    elif profile in ("import", "stop_after"):
        _event(
            person, wa, ConsentAction.GRANT, ConsentSource.IMPORT, granted, wording=IMPORT_WORDING,
            collected_via="Tienda física (hoja de firmas)", actor_label=f"Import #{imp.pk}", actor=imp.created_by,
        )  # fmt: skip
    elif profile == "widget":
        _event(person, ConsentChannel.WEBCHAT, ConsentAction.GRANT, ConsentSource.WIDGET, granted,
               wording=WIDGET_WORDING)  # fmt: skip
    elif profile == "pending":
        _event(person, wa, ConsentAction.GRANT, ConsentSource.WEB_FORM, now - timedelta(days=2), **form)
    if profile == "stop_before":
        at = demo_data.days_ago(now, rng, demo_data.CAMPAIGN_SENT_DAYS_AGO + 1, demo_data.CAMPAIGN_SENT_DAYS_AGO + 7)
        _event(person, wa, ConsentAction.REVOKE, ConsentSource.KEYWORD, at, wording="Message from the person: STOP",
               **stop)  # fmt: skip
    if profile == "stop_after":
        at = demo_data.days_ago(now, rng, 1, demo_data.CAMPAIGN_SENT_DAYS_AGO - 1)
        _event(person, wa, ConsentAction.REVOKE, ConsentSource.KEYWORD, at,
               wording="Message from the person: Stop promotions", **stop)  # fmt: skip
    if profile == "form" and person.contact.email and rng.random() < 0.5:
        _event(person, ConsentChannel.EMAIL, ConsentAction.GRANT, ConsentSource.WEB_FORM, granted + sent / 6,
               wording=EMAIL_WORDING, evidence_url=FORM_URL)  # fmt: skip


def _ledger_write(merchant: Merchant, people: list[_Person], rng, now: datetime, imp: ContactImport) -> None:
    for person in people:
        _story(person, rng, now, imp)
    states: dict[tuple, ConsentState] = {}
    events = []
    for person in people:
        for event in sorted(person.events, key=lambda e: e.occurred_at):
            events.append(event)
            key = (event.contact.pk, event.channel, event.purpose)
            state = states.get(key)
            current = state.status if state else ConsentStatus.NONE
            # Only the pending story's form asked for confirmation (double opt-in was on for that one form).
            doi = person.profile == "pending"
            event.resulting_status = consent_next_status(current=current, action=event.action, double_opt_in=doi)
            _state_step(states, key, state, event)
    fast_insert(ConsentEvent, events)
    for state in states.values():
        state.last_event = state.last_event  # re-bind: the event's pk exists only now, after the insert
    fast_insert(ConsentState, list(states.values()))


def _state_step(states: dict, key: tuple, state: ConsentState | None, event: ConsentEvent) -> None:
    if state is None:
        states[key] = ConsentState(
            merchant_id=event.merchant_id, contact=event.contact, channel=event.channel, purpose=event.purpose,
            status=event.resulting_status, since=event.occurred_at, last_event=event,
        )  # fmt: skip
        return
    if state.status != event.resulting_status:
        state.since = event.occurred_at
    state.status, state.last_event = event.resulting_status, event
