"""The sandbox's writes: play Meta for sandbox channels.

Sends the fake Graph API accepted are recorded here (by a task: see `graph_send_accept`), and their
statuses go back as signed webhooks, sent → delivered → read. The phone page's customer writes and taps
become Meta-shaped inbound webhooks. Every webhook goes through `conversations.webhooks.webhook_receive`,
the entry the real endpoint uses: the same signature check against the channel's app secret, the same
stored event and the same processing (keywords, consent, the inbox), so the sandbox proves the real path.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.contacts.models import Contact
from apps.conversations.models import Channel, ChannelKind
from apps.conversations.webhooks import webhook_receive
from apps.core.enqueue import enqueue_on_commit
from apps.meta import signature, simulate
from apps.sandbox import selectors
from apps.sandbox.bubbles import bubble
from apps.sandbox.models import Direction, SandboxMessage

logger = logging.getLogger(__name__)

RECORD_TASK = "apps.sandbox.tasks.sandbox_message_record"
STATUS_TASK = "apps.sandbox.tasks.sandbox_status_deliver"
MAX_REPLY = 4096  # Meta's limit on a WhatsApp text body


class SandboxRefused(Exception):
    """What the phone page cannot do (no address, an empty message, a button that is not there)."""

    def __init__(self, message: str, *, field: str = ""):
        self.message, self.field = message, field
        super().__init__(message)


class WebhookRefused(Exception):
    """The portal's own webhook entry refused a simulated webhook: a bug or a changed app secret."""


def display_number(channel: Channel) -> str:
    """The shop's number as Meta shows it in webhook metadata (the demo seed may set it)."""
    return str((channel.settings or {}).get("display_phone_number") or channel.phone_number_id)


# --------------------------------------------------------------------------- shop → customer
def graph_send_accept(*, channel: Channel, payload: dict, address: str, kind: str) -> str:
    """Accept one send: a Meta-like message id now, the record and its statuses from a task.

    Not written here: the inbox sender holds its transaction open during the request (a row lock on
    PostgreSQL, SQLite's one write lock in the embedded mode), so a write from this request would wait on
    the caller that waits for this answer. The task runs once the sender has its answer.
    """
    message_id = (
        simulate.whatsapp_message_id() if channel.kind == ChannelKind.WHATSAPP else simulate.messenger_message_id()
    )
    enqueue_on_commit(RECORD_TASK, channel.pk, address, kind, payload, message_id)
    return message_id


def sandbox_message_record(*, channel_id: int, address: str, kind: str, payload: dict, message_id: str) -> None:
    """Store an accepted send (once: a redelivered task finds it) and start its status webhooks."""
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None or not channel.is_sandbox:
        return
    try:
        with transaction.atomic():
            SandboxMessage.objects.create(
                merchant_id=channel.merchant_id, channel=channel, direction=Direction.TO_CUSTOMER, address=address,
                kind=kind, payload=payload, provider_message_id=message_id,
            )  # fmt: skip
    except IntegrityError:  # recorded by an earlier run of this task
        return
    _next_status(message_id, "sent", countdown=0)


def _next_status(message_id: str, status: str, *, countdown: float) -> None:
    enqueue_on_commit(STATUS_TASK, message_id, status, countdown=countdown)


def sandbox_status_deliver(*, message_id: str, status: str) -> None:
    """Post one status webhook of a send, then queue the next one a short delay later. Forward only: a
    redelivered task for a status already passed does nothing."""
    message = SandboxMessage.objects.select_related("channel").filter(provider_message_id=message_id).first()
    if message is None or status not in simulate.STATUSES or not message.channel.is_sandbox:
        return
    order = simulate.STATUSES.index
    if message.status and order(message.status) >= order(status):
        return
    _post(message.channel, _status_body(message, status))
    SandboxMessage.objects.filter(pk=message.pk).update(status=status)
    if status != simulate.STATUSES[-1]:
        _next_status(message_id, simulate.STATUSES[order(status) + 1], countdown=settings.CHARLA_SANDBOX_STATUS_DELAY)


def _status_body(message: SandboxMessage, status: str) -> dict:
    channel = message.channel
    if channel.kind == ChannelKind.MESSENGER:
        if status == "sent":  # Messenger has no "sent" webhook: the send's answer said it
            return {}
        return simulate.messenger_watermark_body(page_id=channel.page_id, psid=message.address, status=status)
    return simulate.whatsapp_status_body(
        phone_number_id=channel.phone_number_id, display_phone_number=display_number(channel),
        message_id=message.provider_message_id, recipient=message.address, status=status,
        opaque=str(message.payload.get("biz_opaque_callback_data") or ""),
    )  # fmt: skip


def _post(channel: Channel, body: dict) -> None:
    """Sign the bytes as Meta does and hand them to the real webhook entry."""
    if not body:
        return
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    header = signature.signature_header(body=raw, secret=channel.app_secret)
    response = webhook_receive(channel=channel, body=raw, header=header)
    if response.status_code != 200:
        logger.error("sandbox.webhook_refused", extra={"channel_id": channel.pk, "status": response.status_code})
        raise WebhookRefused(f"the webhook entry answered {response.status_code}")


# --------------------------------------------------------------------------- customer → shop
def customer_write(*, channel: Channel, contact: Contact, text: str) -> SandboxMessage:
    """The customer types `text` on the phone: an inbound message webhook for their address."""
    text = text.strip()
    if not text:
        raise SandboxRefused("Type a message first.", field="text")
    if len(text) > MAX_REPLY:
        raise SandboxRefused(f"A message holds at most {MAX_REPLY} characters.", field="text")
    return _customer_sends(channel=channel, contact=contact, text=text)


def customer_tap(*, channel: Channel, contact: Contact, message_id: int, index: int) -> SandboxMessage:
    """The customer taps quick reply `index` of a message the shop sent them."""
    address = _address(channel, contact)
    tapped = selectors.thread_message(channel=channel, address=address, message_id=message_id)
    if tapped is None or tapped.direction != Direction.TO_CUSTOMER:
        raise SandboxRefused("No such message on this phone.", field="message")
    templates = selectors.thread_templates(merchant=channel.merchant, messages=[tapped])
    buttons = [b for b in bubble(tapped, templates=templates).buttons if b.payload]
    button = next((b for b in buttons if b.index == index), None)
    if button is None:
        raise SandboxRefused("This message has no such button.", field="button")
    return _customer_sends(
        channel=channel, contact=contact, text=button.text, button=(button.text, button.payload), context=tapped
    )


def _address(channel: Channel, contact: Contact) -> str:
    address = selectors.contact_address(contact=contact, channel=channel)
    if not address:
        kind = "WhatsApp number" if channel.kind == ChannelKind.WHATSAPP else "Messenger id"
        raise SandboxRefused(f"This contact has no {kind}: the sandbox cannot write as them.", field="contact")
    return address


@transaction.atomic
def _customer_sends(
    *, channel: Channel, contact: Contact, text: str, button: tuple[str, str] | None = None,
    context: SandboxMessage | None = None,
) -> SandboxMessage:  # fmt: skip
    address = _address(channel, contact)
    if channel.kind == ChannelKind.WHATSAPP:
        message_id = simulate.whatsapp_message_id()
        body = simulate.whatsapp_inbound_body(
            phone_number_id=channel.phone_number_id, display_phone_number=display_number(channel), wa_id=address,
            name=contact.name, message_id=message_id, text=text, button=button,
            context_id=context.provider_message_id if context else "",
        )  # fmt: skip
        item = body["entry"][0]["changes"][0]["value"]["messages"][0]
    else:
        message_id = simulate.messenger_message_id()
        body = simulate.messenger_inbound_body(
            page_id=channel.page_id, psid=address, message_id=message_id, text=text, payload=button[1] if button else ""
        )
        item = body["entry"][0]["messaging"][0]["message"]
    recorded = SandboxMessage.objects.create(
        merchant_id=channel.merchant_id, channel=channel, direction=Direction.FROM_CUSTOMER, address=address,
        kind="button" if button else "text", payload=item, provider_message_id=message_id,
    )  # fmt: skip
    _post(channel, body)
    return recorded
