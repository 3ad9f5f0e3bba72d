"""Erasure the hard way: a contact with a full life, erased, then every text column of every table searched.

The column list is built from `apps.get_models()`, so a model added later is searched too: if it keeps a
copy of a contact's phone, name or e-mail, this test fails until its app erases it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models

from apps.contacts.models import ConsentEvent, Contact, ContactIdentity, Suppression
from apps.contacts.services import contact_import_upload, contact_update
from apps.contacts.services.export_erase import contact_erase
from apps.contacts.services.merge import contact_merge
from apps.contacts.suppression import suppression_hash
from apps.conversations.models import Attachment, Message, WebhookEvent, WebhookEventStatus
from apps.conversations.services.inbound import batch as inbound_batch
from apps.conversations.services.inbound import common as inbound_common
from apps.conversations.services.inbound import webhook_event_process
from apps.conversations.services.media import attachment_fetch
from apps.tickets.models import Ticket
from apps.tickets.services import ticket_comment_add, ticket_create, ticket_link_conversation, ticket_update
from apps.tickets.services.csat import csat_answer
from tests.conversations.live_support import ORIGIN, visitor, webchat_channel
from tests.factories.campaigns import CampaignFactory, DeliveryFactory
from tests.factories.contacts import AttributeDefinitionFactory, ContactFactory, IdentityFactory
from tests.factories.conversations import ChannelFactory, ConversationFactory, MessageFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

WA_ID = "34699887766"
PHONE = f"+{WA_ID}"
NAME = "Zebulon Quuxley"
EMAIL = "zebulon.quuxley@example.test"
NEEDLES = [PHONE, WA_ID, NAME, "Zebulon", "Quuxley", EMAIL]
PSID = "7712093388123456"
PAGE_ID = "118273645500001"
BSUID = "ES.8837261904451122"  # the same person's WhatsApp business-scoped user id
NEEDLES += [PSID, BSUID]
PHONE_NUMBER_ID = "209384756100001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

TEXT_FIELDS = (
    models.CharField, models.TextField, models.JSONField, models.EmailField, models.URLField,
    models.SlugField, models.FileField, models.GenericIPAddressField,
)  # fmt: skip


def text_columns() -> list[tuple[str, str]]:
    """(table, column) of every text-like column of every installed model, m2m tables included."""
    columns = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS):
                columns.add((model._meta.db_table, field.column))
    return sorted(columns)


def hits(needles: list[str]) -> list[str]:
    """ "table.column ~ needle" for every column holding any needle, case-insensitively (JSON cast to text)."""
    found = []
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in text_columns():
            sql = (
                f"SELECT n FROM unnest(%s::text[]) AS n WHERE EXISTS "
                f"(SELECT 1 FROM {quoted(table)} WHERE {quoted(column)}::text ILIKE '%%' || n || '%%')"
            )
            cursor.execute(sql, [needles])
            found += [f"{table}.{column} ~ {needle}" for (needle,) in cursor.fetchall()]
    return sorted(found)


def wa_payload(*, messages=(), statuses=(), preferences=(), name=NAME) -> dict:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_NUMBER_ID}}
    if messages:
        value |= {
            "contacts": [{"profile": {"name": name}, "wa_id": WA_ID, "user_id": BSUID}],
            "messages": list(messages),
        }
    if statuses:
        value["statuses"] = list(statuses)
    field = "messages"
    if preferences:
        field, value = "user_preferences", {**value, "user_preferences": list(preferences)}
    change = {"field": field, "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def wa_text(mid: str, body: str, ts: int = 1764057600) -> dict:
    return {
        "from": WA_ID,
        "from_user_id": BSUID,
        "id": mid,
        "timestamp": str(ts),
        "type": "text",
        "text": {"body": body},
    }


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def wa(merchant):
    return ChannelFactory(merchant=merchant, kind="whatsapp", phone_number_id=PHONE_NUMBER_ID)


def process() -> None:
    for event_id in WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).values_list("id", flat=True):
        webhook_event_process(event_id=event_id)


def whatsapp_life(post, wa, fake_graph, api, monkeypatch) -> Contact:
    """Inbound text (with the e-mail), an image, a grant by API, STOP by keyword, a preference webhook,
    a status of an agent's reply, one failed webhook and one never processed."""
    post(wa, wa_payload(messages=[wa_text("wamid.zq-1", f"Hi, I am {NAME}, write to {EMAIL}")]))
    fake_graph.media["zq-media"] = (PNG, "image/png")
    image = {
        "from": WA_ID,
        "id": "wamid.zq-2",
        "timestamp": "1764057700",
        "type": "image",
        "image": {"id": "zq-media", "mime_type": "image/png", "sha256": "x", "caption": f"{NAME} receipt"},
    }
    post(wa, wa_payload(messages=[image]))
    process()
    contact = Contact.objects.get(phone=PHONE)
    assert attachment_fetch(attachment_id=Attachment.objects.get(message__provider_message_id="wamid.zq-2").pk) == (
        "stored"
    )
    grant = {
        "channel": "whatsapp",
        "purpose": "marketing",
        "action": "grant",
        "source": "api",
        "wording": "Offers on WhatsApp",
        "evidence_url": f"https://shop.test/optin?phone={WA_ID}",
        "evidence_message_id": f"form-{WA_ID}",
        "ip_address": "203.0.113.9",
        "user_agent": f"App/{NAME}",
    }
    assert api.post(f"/api/v1/contacts/{contact.pk}/consents/", grant, format="json").status_code == 201
    post(wa, wa_payload(messages=[wa_text("wamid.zq-3", "STOP", 1764057800)]))
    stop = {"wa_id": WA_ID, "detail": "User requested to stop marketing messages", "category": "marketing_messages",
            "value": "stop", "timestamp": 1764057900}  # fmt: skip
    post(wa, wa_payload(preferences=[stop]))
    reply = MessageFactory(
        conversation=contact.conversations.get(), direction="outbound", author_kind="agent",
        provider_message_id="wamid.zq-out", status="sent", body=f"Hello {NAME}",
        error_message=f"Recipient {PHONE} was slow",
    )  # fmt: skip
    status = {"id": reply.provider_message_id, "status": "read", "timestamp": "1764058000", "recipient_id": WA_ID,
              "recipient_user_id": BSUID}  # fmt: skip
    post(wa, wa_payload(statuses=[status]))
    process()
    _failed_webhook(post, wa, monkeypatch)
    post(wa, wa_payload(messages=[wa_text("wamid.zq-5", f"Still there? {EMAIL}", 1764058200)]))
    return contact


def _failed_webhook(post, wa, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    post(wa, wa_payload(messages=[wa_text("wamid.zq-4", f"Call me on {PHONE}", 1764058100)]))
    with monkeypatch.context() as patch:  # the batch's bulk path and its one-by-one path alike
        patch.setattr(inbound_batch, "_store", broken)
        patch.setattr(inbound_common, "message_receive", broken)
        process()
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.FAILED).count() == 1


def messenger_life(post, merchant, fake_graph) -> Contact:
    """A Messenger message; the name comes from Meta's User Profile API."""
    channel = ChannelFactory(merchant=merchant, kind="messenger", page_id=PAGE_ID)
    fake_graph.profiles[PSID] = {"first_name": "Zebulon", "last_name": "Quuxley"}
    item = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": 1764058300000,
            "message": {"mid": "m_zq-1", "text": f"Same person, mail {EMAIL}"}}  # fmt: skip
    post(channel, {"object": "page", "entry": [{"id": PAGE_ID, "time": 1764058300000, "messaging": [item]}]})
    process()
    return Contact.objects.get(identities__external_id=PSID)


def widget_life(client, merchant) -> Contact:
    """A web-chat visitor who fills the pre-chat form (name, e-mail, consent) and uploads a file."""
    channel = webchat_channel(merchant, settings={"prechat_enabled": True, "consent_wording": "E-mail me offers."})
    visitor_id, token = visitor(channel)
    base = f"/inbox/widget/{channel.public_key}"
    prechat = {
        "token": token,
        "name": NAME,
        "email": EMAIL,
        "consent": True,
        "page_url": f"https://shop.example/?e={EMAIL}",
    }
    response = client.post(f"{base}/prechat/", json.dumps(prechat), content_type="application/json",
                           HTTP_ORIGIN=ORIGIN, HTTP_USER_AGENT=f"Browser of {NAME}")  # fmt: skip
    assert response.status_code == 200, response.content
    upload = SimpleUploadedFile(f"{NAME} passport.png", PNG, content_type="image/png")
    data = {"token": token, "id": str(uuid.uuid4()), "text": f"My passport, {NAME}", "file": upload}
    assert client.post(f"{base}/upload/", data, HTTP_ORIGIN=ORIGIN).status_code == 201
    return Contact.objects.get(identities__kind="webchat", identities__external_id=visitor_id)


def ticket_life(merchant, contact, member) -> Ticket:
    ticket = ticket_create(
        merchant=merchant,
        subject=f"Refund for {NAME}",
        description=f"Mail {EMAIL}",
        contact=contact,
        actor=member.user,
        conversations=list(contact.conversations.all()),
    )
    ticket = ticket_update(ticket=ticket, actor=member.user, subject=f"Refund {PHONE}", tags=[WA_ID])
    ticket_comment_add(ticket=ticket, body=f"Internal: {NAME} called from {PHONE}", public=False, actor=member.user)
    csat_answer(ticket=ticket, rating=2, comment=f"Slow. {NAME}, {EMAIL}")
    # Another customer's ticket that links this person's conversation: scrubbed, not blanked.
    spouse = ContactFactory(merchant=merchant, name="Spouse Person")
    shared = ticket_create(merchant=merchant, subject=f"Call {NAME} back", contact=spouse, actor=member.user)
    ticket_link_conversation(ticket=shared, conversation=contact.conversations.get(channel__kind="whatsapp"))
    ticket_comment_add(ticket=shared, body=f"{NAME} is the spouse", public=False, actor=member.user)
    return shared


def other_life(merchant, contact, member) -> None:
    """Attributes and tags, a campaign delivery, an admin change and an import file that still holds the
    person's row."""
    AttributeDefinitionFactory(merchant=merchant, key="nickname")
    updated = contact_update(contact=contact, attributes={"nickname": f"{NAME} jr"}, tags=[f"zebulon-{WA_ID}"])
    assert (updated.attributes, updated.tags) == ({"nickname": f"{NAME} jr"}, [f"zebulon-{WA_ID}"])
    DeliveryFactory(
        campaign=CampaignFactory(merchant=merchant), contact=contact, state="failed",
        error_code="131026", error_message=f"Message undeliverable to {PHONE}",
    )  # fmt: skip
    LogEntry.objects.log_actions(
        user_id=member.user.pk, queryset=[contact], action_flag=CHANGE,
        change_message=json.dumps([{"changed": {"fields": ["Name"], "name": NAME}}]),
    )  # fmt: skip
    csv_text = f"phone,name,email\n{PHONE},{NAME},{EMAIL}\n+34611000000,Other,o@x.test\n"
    contact_import_upload(merchant=merchant, data=csv_text)


def test_erasure_leaves_no_copy_of_the_person_anywhere(
    client,
    merchant,
    admin_membership,
    api,
    post_webhook,
    fake_graph,
    media_root,
    monkeypatch,
    wa,
    django_capture_on_commit_callbacks,
):
    contact = whatsapp_life(post_webhook, wa, fake_graph, api, monkeypatch)
    contact_merge(source=widget_life(client, merchant), target=contact)
    contact_merge(source=messenger_life(post_webhook, merchant, fake_graph), target=contact)
    shared = ticket_life(merchant, contact, admin_membership)
    other_life(merchant, contact, admin_membership)
    visitor_id = ContactIdentity.objects.get(kind="webchat").external_id
    files = [Path(a.file.path) for a in Attachment.objects.exclude(file="")]
    assert len(files) == 2 and all(f.exists() for f in files)
    before = {hit.split(" ~ ")[1] for hit in hits(NEEDLES)}
    assert before == set(NEEDLES)  # the search finds the person before erasure: it can fail
    kinds = set(ConsentEvent.objects.values_list("source", flat=True))  # all of them are this person's
    assert kinds == {"api", "keyword", "provider_preference", "widget"}

    with django_capture_on_commit_callbacks(execute=True):  # files are deleted once the erasure commits
        response = api.delete(f"/api/v1/contacts/{contact.pk}/")
        assert response.status_code == 204, response.content

    assert hits([*NEEDLES, visitor_id]) == []
    shared.refresh_from_db()
    assert (shared.subject, shared.contact.name) == ("Call [erased] back", "Spouse Person")
    assert list(shared.comments.values_list("body", flat=True)) == ["[erased] is the spouse"]
    assert [f for f in files if f.exists()] == []
    assert set(Suppression.objects.values_list("kind", "value_hash")) == {
        ("phone", suppression_hash("phone", PHONE)), ("email", suppression_hash("email", EMAIL)),
        ("messenger", suppression_hash("messenger", PSID)), ("webchat", suppression_hash("webchat", visitor_id)),
        ("whatsapp_user", suppression_hash("whatsapp_user", BSUID)),
    }  # fmt: skip
    # The ledger still proves what happened: every event, its action, source and wording; the number
    # inside an evidence id became the suppression token.
    token = f"erased:{suppression_hash('phone', PHONE)}"
    assert sorted(ConsentEvent.objects.values_list("source", "action", "evidence_message_id")) == [
        ("api", "grant", f"form-{token}"),
        ("keyword", "revoke", "wamid.zq-3"),
        ("provider_preference", "revoke", f"user_preferences:{token}:1764057900:stop"),
        ("widget", "grant", ""),
    ]
    assert set(ConsentEvent.objects.values_list("ip_address", "user_agent", "evidence_url")) == {(None, "", "")}


def test_webhooks_pending_at_erasure_do_not_bring_the_person_back(
    client,
    merchant,
    admin_membership,
    api,
    post_webhook,
    fake_graph,
    media_root,
    monkeypatch,
    wa,
):
    contact = whatsapp_life(post_webhook, wa, fake_graph, api, monkeypatch)
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.RECEIVED).count() == 1
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    process()  # the webhook stored before the erasure is processed after it
    for event_id in WebhookEvent.objects.filter(status=WebhookEventStatus.FAILED).values_list("id", flat=True):
        webhook_event_process(event_id=event_id)  # and the failed one is replayed
    assert hits(NEEDLES) == []
    assert Contact.objects.filter(erased_at=None).count() == 0
    assert Message.objects.filter(provider_message_id__in=["wamid.zq-4", "wamid.zq-5"]).count() == 0


def person(merchant) -> Contact:
    """The person with only a profile and a WhatsApp identity."""
    contact = ContactFactory(merchant=merchant, name=NAME, phone=PHONE, email=EMAIL)
    IdentityFactory(contact=contact, external_id=WA_ID)
    return contact


def test_a_late_status_for_an_erased_person_is_applied_then_forgotten(api, merchant, post_webhook, wa):
    contact = person(merchant)
    reply = MessageFactory(
        conversation=ConversationFactory(merchant=merchant, channel=wa, contact=contact, identity=False),
        direction="outbound", author_kind="agent", provider_message_id="wamid.zq-late", status="sent",
    )  # fmt: skip
    other = MessageFactory(conversation__merchant=merchant, conversation__channel=wa, direction="outbound",
                           author_kind="agent", provider_message_id="wamid.other", status="sent")  # fmt: skip
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    statuses = [
        {"id": "wamid.zq-late", "status": "read", "timestamp": "1764058000", "recipient_id": WA_ID},
        {"id": "wamid.other", "status": "read", "timestamp": "1764058000", "recipient_id": "34611222333"},
    ]
    post_webhook(wa, wa_payload(statuses=statuses))
    process()
    reply.refresh_from_db()
    other.refresh_from_db()
    assert (reply.status, other.status) == ("read", "read")  # both applied
    stored = json.loads(WebhookEvent.objects.get().body)
    assert [s["recipient_id"] for s in stored["entry"][0]["changes"][0]["value"]["statuses"]] == ["34611222333"]
    assert hits(NEEDLES) == []


def test_a_late_status_by_user_id_for_an_erased_user_id_only_person_is_applied_then_forgotten(
    api, merchant, post_webhook, wa
):
    contact = ContactFactory(merchant=merchant, name=NAME, phone="", email=EMAIL)
    IdentityFactory(contact=contact, kind="whatsapp_user", external_id=BSUID)
    reply = MessageFactory(
        conversation=ConversationFactory(merchant=merchant, channel=wa, contact=contact, identity=False),
        direction="outbound", author_kind="agent", provider_message_id="wamid.zq-late", status="sent",
    )  # fmt: skip
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    assert set(Suppression.objects.values_list("kind", "value_hash")) == {
        ("whatsapp_user", suppression_hash("whatsapp_user", BSUID)), ("email", suppression_hash("email", EMAIL)),
    }  # fmt: skip
    statuses = [
        {"id": "wamid.zq-late", "status": "read", "timestamp": "1764058000", "recipient_user_id": BSUID},
        {"id": "wamid.other", "status": "read", "timestamp": "1764058000", "recipient_user_id": "ES.1111"},
    ]
    post_webhook(wa, wa_payload(statuses=statuses))
    process()
    reply.refresh_from_db()
    assert reply.status == "read"
    stored = json.loads(WebhookEvent.objects.get().body)
    assert [s["recipient_user_id"] for s in stored["entry"][0]["changes"][0]["value"]["statuses"]] == ["ES.1111"]
    assert hits(NEEDLES) == []


def test_an_erased_user_id_only_person_who_writes_again_is_suppressed_until_they_grant(api, merchant, post_webhook, wa):
    from apps.contacts.gate import consent_gate
    from tests.factories.contacts import grant

    contact = ContactFactory(merchant=merchant, name=NAME, phone="", email="")
    IdentityFactory(contact=contact, kind="whatsapp_user", external_id=BSUID)
    grant(contact)
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    back = wa_text("wamid.zq-back", "Hola otra vez")
    del back["from"]  # a user who hides their number sends the user id alone
    post_webhook(wa, wa_payload(messages=[back]))
    process()
    returning = Contact.objects.get(erased_at=None)
    assert list(returning.identities.values_list("kind", "external_id")) == [("whatsapp_user", BSUID)]
    assert consent_gate(merchant=merchant, channel="whatsapp", contact_ids=[returning.pk]) == {
        returning.pk: "suppressed"
    }


def test_a_person_who_writes_again_after_erasure_is_a_new_contact_and_kept(api, merchant, post_webhook, wa):
    contact = person(merchant)
    assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    post_webhook(wa, wa_payload(messages=[wa_text("wamid.zq-back", "I am back")]))
    process()
    returning = Contact.objects.get(erased_at=None)
    assert (returning.phone, returning.name) == (PHONE, NAME)
    assert WA_ID in WebhookEvent.objects.get().body  # their new message is theirs to keep
    assert Message.objects.get(provider_message_id="wamid.zq-back").body == "I am back"


def test_a_failing_hook_rolls_the_whole_erasure_back(api, merchant, post_webhook, wa, media_root, monkeypatch):
    from apps.contacts import privacy_hooks

    post_webhook(wa, wa_payload(messages=[wa_text("wamid.zq-1", f"Hi, I am {NAME}")]))
    process()
    contact = Contact.objects.get(phone=PHONE)
    stored = Path(media_root) / "kept.png"
    stored.write_bytes(PNG)
    Attachment.objects.create(merchant=merchant, message=Message.objects.get(), file="kept.png", status="stored")
    before = hits(NEEDLES)

    def broken(*, merchant_id, traces):
        raise RuntimeError("database hiccup")

    # Last of all: every hook and the webhook sweep have run when it fails.
    monkeypatch.setattr(privacy_hooks, "_erase_sweeps", [*privacy_hooks.erase_sweeps(), broken])
    with pytest.raises(RuntimeError):
        contact_erase(contact=contact)
    assert hits(NEEDLES) == before  # nothing half-erased: the webhook, the message, the contact all intact
    contact.refresh_from_db()
    assert (contact.erased_at, contact.phone) == (None, PHONE)
    assert stored.exists() and not Suppression.objects.exists()
