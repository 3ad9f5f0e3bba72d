"""The demo shop's channels and ~40 conversations spread over the last 30 days.

Channels go through `channel_create` (its validation); conversations and messages are inserted in bulk
with the fields the services keep current (last message, window start, unread count); the one file goes
through `uploads.attachment_store`, as an uploaded file does. The WhatsApp and Messenger channels carry
`settings["sandbox"] = True`: the sandbox provider sends for them instead of Meta.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.contacts.models import ContactIdentity
from apps.conversations import uploads
from apps.conversations.models import (
    AuthorKind,
    Channel,
    ChannelKind,
    Conversation,
    ConversationLifecycleEvent,
    ConversationPriority,
    ConversationStatus,
    LifecycleKind,
    Message,
    MessageDirection,
    MessageKind,
    MessageStatus,
)
from apps.conversations.services import channel_create
from apps.conversations.services.messages import PREVIEW_LENGTH
from apps.core import demo_data
from apps.core.roles import Role
from apps.merchants.models import Merchant

SANDBOX_WHATSAPP_ID = "100000000000001"
SANDBOX_PAGE_ID = "100000000000002"
PER_CHANNEL = {ChannelKind.WHATSAPP: 20, ChannelKind.MESSENGER: 8, ChannelKind.WEBCHAT: 12}
STATUSES = (
    [ConversationStatus.OPEN] * 14
    + [ConversationStatus.PENDING] * 8
    + [ConversationStatus.SNOOZED] * 6
    + [ConversationStatus.RESOLVED] * 12
)
LABELS = ("pedido", "devolución", "envío", "talla", "factura")
# Customer and agent take turns, customer first.
SCRIPTS = (
    ("Hola, ¿tenéis la camiseta de lino en talla M?", "¡Hola! Sí, nos quedan en blanco y en azul. ¿Te reservo una?",
     "La azul, por favor.", "Hecho, te la guardamos 48 horas en tienda."),
    ("Mi pedido aún no ha llegado y lo pedí el lunes.", "Lo siento mucho. ¿Me das el número de pedido?",
     "Es el 10482.", "Ya lo veo: sale hoy con la agencia y mañana lo tienes en casa."),
    ("Quiero devolver unas sandalias, me quedan pequeñas.",
     "Claro, tienes 30 días. Te envío la etiqueta de devolución por correo.", "¡Gracias!"),
    ("¿Hacéis envíos a Canarias?", "Sí, en 3 a 5 días laborables. Los gastos se calculan al pagar.",
     "Perfecto, entonces hago el pedido."),
    ("Necesito la factura de mi última compra.", "Te la mandamos ahora mismo al correo de tu cuenta.",
     "Recibida, muchas gracias."),
    ("¿A qué hora abre la tienda de Sevilla el sábado?", "Los sábados abrimos de 10:00 a 14:00.",),
    ("El código de descuento SOL10 no me funciona.", "Perdona, caducó ayer. Te hemos creado SOL10BIS, válido hoy.",
     "Ahora sí, gracias.", "¡A ti! Que lo disfrutes."),
    ("¿Tenéis el bolso de rafia en otro color?", "Ahora mismo solo en natural; el negro vuelve la semana que viene.",
     "Avisadme cuando llegue, por favor."),
)  # fmt: skip
NOTES = ("Cliente habitual: ofrecer envío gratis si vuelve a pasar.", "Revisado con almacén, el paquete salió ayer.")
ATTACHMENT_TEXT = "Os mando una foto de cómo llegó el paquete."


def seed_conversations(*, merchant: Merchant, members: dict) -> None:
    if Channel.objects.for_merchant(merchant).exists():
        return
    now = timezone.now()
    rng = demo_data.demo_rng("conversations")
    channels = _channels(merchant)
    agents = [members[Role.AGENT].user, members[Role.ADMIN].user]
    plans = _plans(merchant, channels, rng)
    conversations, messages = [], []
    for index, (channel, reached, status) in enumerate(plans):
        conversation, thread = _thread(index, channel, reached, status, agents, rng, now)
        conversations.append(conversation)
        messages.extend(thread)
    started = [c.created_at for c in conversations]
    Conversation.objects.bulk_create(conversations)
    for conversation, at in zip(conversations, started, strict=True):
        conversation.created_at = at  # auto_now_add stamped "now" on insert
    Conversation.objects.bulk_update(conversations, ["created_at"])
    for message in messages:
        message.conversation = message.conversation  # re-bind: the conversation's pk exists only now
    Message.objects.bulk_create(messages, batch_size=500)
    _resolutions(conversations)
    _attachment(conversations, messages, rng)


def _resolutions(conversations: list[Conversation]) -> None:
    """The lifecycle rows the status service would have written, so the reports show the demo's month."""
    ConversationLifecycleEvent.objects.bulk_create(
        ConversationLifecycleEvent(
            merchant_id=c.merchant_id,
            conversation=c,
            kind=LifecycleKind.RESOLVED,
            at=c.resolved_at,
            assignee_id=c.assignee_id,
        )
        for c in conversations
        if c.resolved_at is not None
    )


def _channels(merchant: Merchant) -> dict[str, Channel]:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(settings.PUBLIC_BASE_URL))
    sandbox = {"access_token": "sandbox", "settings": {"sandbox": True}}
    return {
        ChannelKind.WEBCHAT: channel_create(
            merchant=merchant, kind=ChannelKind.WEBCHAT, name="Chat de la web",
            allowed_origins=sorted({origin, "http://127.0.0.1:8000", "http://localhost:8000"}),
            settings={"demo_shop": True},  # /demo-shop/<key>/: the newcomer chats as a customer
        ),
        ChannelKind.WHATSAPP: channel_create(
            merchant=merchant, kind=ChannelKind.WHATSAPP, name="WhatsApp Tienda Sol",
            phone_number_id=SANDBOX_WHATSAPP_ID, app_secret=secrets.token_hex(16),
            verify_token=secrets.token_urlsafe(16), **sandbox,
        ),
        ChannelKind.MESSENGER: channel_create(
            merchant=merchant, kind=ChannelKind.MESSENGER, name="Facebook Tienda Sol", page_id=SANDBOX_PAGE_ID,
            app_secret=secrets.token_hex(16), verify_token=secrets.token_urlsafe(16), **sandbox,
        ),
    }  # fmt: skip


def _plans(merchant: Merchant, channels: dict[str, Channel], rng) -> list[tuple[Channel, tuple[int, str], str]]:
    """(channel, (contact id, its id there), status) per conversation; a contact has one conversation per
    channel. A web chat's id is its visitor (the browser that opened it)."""
    reachable: dict[str, list[tuple[int, str]]] = {kind: [] for kind in PER_CHANNEL}
    rows = ContactIdentity.objects.for_merchant(merchant).filter(contact__erased_at=None).order_by("contact_id")
    for kind, contact_id, external_id in rows.values_list("kind", "contact_id", "external_id"):
        if kind in reachable:
            reachable[kind].append((contact_id, external_id))
    statuses = list(STATUSES)
    rng.shuffle(statuses)
    picked = [
        (channels[kind], cid) for kind, count in PER_CHANNEL.items() for cid in rng.sample(reachable[kind], count)
    ]
    # The inbox's out-of-window case: the first WhatsApp conversation is open, its customer silent for days.
    first_open = statuses.index(ConversationStatus.OPEN)
    statuses[0], statuses[first_open] = statuses[first_open], statuses[0]
    return [(channel, cid, status) for (channel, cid), status in zip(picked, statuses, strict=True)]


def _start(index: int, status: str, rng, now: datetime) -> datetime:
    if index == 0:
        return now - timedelta(days=3, hours=2)
    if status == ConversationStatus.RESOLVED:
        return demo_data.days_ago(now, rng, 1, demo_data.HISTORY_DAYS - 1)
    # Open ones are recent enough that their customers are inside the 24-hour window (all but the first).
    return demo_data.days_ago(now, rng, 0.05, 0.8 if status == ConversationStatus.OPEN else 8)


def _thread(index, channel, reached, status, agents, rng, now) -> tuple[Conversation, list[Message]]:
    script = rng.choice(SCRIPTS)
    if status == ConversationStatus.PENDING and len(script) % 2:
        script = script[:-1]  # pending: the agent spoke last and waits for the customer
    at = _start(index, status, rng, now)
    contact_id, external_id = reached
    conversation = Conversation(
        merchant_id=channel.merchant_id, channel=channel, contact_id=contact_id, status=status,
        visitor_id=external_id if channel.kind == ChannelKind.WEBCHAT else "",
        assignee=None if status == ConversationStatus.OPEN and index % 5 == 1 else agents[index % 2],
        labels=sorted(set(rng.sample(LABELS, rng.randint(0, 2)))),
        priority=ConversationPriority.HIGH if index % 7 == 3 else ConversationPriority.NONE,
    )  # fmt: skip
    conversation.created_at = at
    messages = []
    for turn, body in enumerate(script):
        messages.append(_message(conversation, index, turn, body, at, conversation.assignee or agents[0]))
        if turn == 1 and index % 4 == 0:
            note_at = at + timedelta(seconds=30)
            messages.append(_message(conversation, index, 99, NOTES[index % 2], note_at, agents[0], note=True))
        at += timedelta(minutes=rng.randint(2, 40))
    _summarize(conversation, messages, status, rng, now)
    return conversation, messages


def _message(conversation, index, turn, body, at, agent, note=False) -> Message:
    inbound = turn % 2 == 0 and not note
    channel = conversation.channel
    delivered = channel.kind != ChannelKind.WEBCHAT and not inbound and not note
    prefix = {ChannelKind.WHATSAPP: "wamid.demo", ChannelKind.MESSENGER: "m_demo"}.get(channel.kind)
    return Message(
        merchant_id=conversation.merchant_id, conversation=conversation, channel=channel,
        direction=MessageDirection.INBOUND if inbound else MessageDirection.OUTBOUND,
        author_kind=AuthorKind.CONTACT if inbound else AuthorKind.AGENT, author=None if inbound else agent,
        kind=MessageKind.NOTE if note else MessageKind.TEXT, body=body,
        provider_message_id=f"{prefix}.{index}.{turn}" if prefix and not note else "",
        status=MessageStatus.RECEIVED if inbound else (MessageStatus.READ if delivered else MessageStatus.SENT),
        created_at=at, sent_at=None if inbound else at,
        delivered_at=at + timedelta(seconds=5) if delivered else None,
        read_at=at + timedelta(minutes=1) if delivered else None,
    )  # fmt: skip


def _summarize(conversation: Conversation, messages: list[Message], status: str, rng, now: datetime) -> None:
    """The fields the message services keep current on a conversation."""
    shown = [m for m in messages if m.kind != MessageKind.NOTE]
    last = shown[-1]
    conversation.last_message_at = last.created_at
    conversation.last_message_preview = last.body[:PREVIEW_LENGTH]
    conversation.last_inbound_at = max(m.created_at for m in shown if m.direction == MessageDirection.INBOUND)
    outbound = [m.created_at for m in shown if m.direction == MessageDirection.OUTBOUND]
    conversation.last_outbound_at = max(outbound) if outbound else None
    trailing = 0
    for message in reversed(shown):
        if message.direction != MessageDirection.INBOUND:
            break
        trailing += 1
    conversation.unread_count = trailing if status == ConversationStatus.OPEN else 0
    if status == ConversationStatus.RESOLVED:
        conversation.resolved_at = last.created_at + timedelta(minutes=30)
    if status == ConversationStatus.SNOOZED:
        conversation.snoozed_until = (now + timedelta(days=rng.randint(1, 3))).replace(minute=0, second=0)


def _attachment(conversations: list[Conversation], messages: list[Message], rng) -> None:
    """A customer's photo on the newest open web-chat conversation, stored as a widget upload is."""
    conversation = max(
        (c for c in conversations if c.channel.kind == ChannelKind.WEBCHAT and c.status == ConversationStatus.OPEN),
        key=lambda c: c.last_message_at,
    )
    upload = SimpleUploadedFile("paquete.png", demo_png(rng), content_type="image/png")
    at = conversation.last_message_at + timedelta(minutes=1)
    message = Message.objects.create(
        merchant_id=conversation.merchant_id, conversation=conversation, channel=conversation.channel,
        direction=MessageDirection.INBOUND, author_kind=AuthorKind.CONTACT, kind=MessageKind.MEDIA,
        body=ATTACHMENT_TEXT, attachments=[uploads.attachment_summary(upload, "image")],
        status=MessageStatus.RECEIVED, created_at=at,
    )  # fmt: skip
    uploads.attachment_store(message=message, upload=upload, media_type="image")
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=at,
        last_inbound_at=at,
        last_message_preview=ATTACHMENT_TEXT,
        unread_count=conversation.unread_count + 1,
    )


def demo_png(rng, size: int = 16) -> bytes:
    """A small sunny square as a real PNG, made here so the seed needs no image library or file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    shade = rng.randint(140, 200)
    row = b"\x00" + bytes((255, shade, 40)) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b"")
    )
