"""Meta's side of the wire, built from plain values: Graph answers and webhook bodies as Meta sends them.

The sandbox (apps/sandbox) plays Meta with these, so the portal's real parsers (`webhooks.py`, `content.py`)
and clients (`client.py`, `batch.py`) read them. Shapes follow Meta's documentation and the samples in
tests/fixtures/meta/; ids look like Meta's (`wamid.` + base64 for WhatsApp, `m_` for Messenger).
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

WHATSAPP_OBJECT = "whatsapp_business_account"
MESSENGER_OBJECT = "page"
STATUSES = ("sent", "delivered", "read")


def whatsapp_message_id() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18" + secrets.token_bytes(18)).decode()


def messenger_message_id() -> str:
    return "m_" + secrets.token_urlsafe(24)


def media_id() -> str:
    return str(10**15 + secrets.randbelow(9 * 10**15))


def graph_error(code: int, message: str, *, kind: str = "OAuthException", subcode: int | None = None) -> dict:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_urlsafe(9)}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def unknown_object(node: str, method: str = "post") -> dict:
    """Meta's answer for an id it does not know (or the token may not use): HTTP 400, code 100, subcode 33."""
    message = (
        f"Unsupported {method} request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation."
    )
    return graph_error(100, message, kind="GraphMethodException", subcode=33)


def whatsapp_send_answer(*, to: str, message_id: str, by_number: bool) -> dict:
    """A send's answer: the contact is named by `wa_id` for a number, by `user_id` for a user id."""
    contact = {"input": to, "wa_id": to} if by_number else {"input": to, "user_id": to}
    return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": message_id}]}


def messenger_send_answer(*, recipient_id: str, message_id: str) -> dict:
    return {"recipient_id": recipient_id, "message_id": message_id}


def phone_number_info(*, phone_number_id: str, display_phone_number: str, verified_name: str) -> dict:
    """GET /<phone_number_id>: what "check connection" reads."""
    return {
        "verified_name": verified_name,
        "code_verification_status": "VERIFIED",
        "display_phone_number": display_phone_number,
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "id": phone_number_id,
    }


def _whatsapp(*, phone_number_id: str, display_phone_number: str, value: dict) -> dict:
    metadata = {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}
    change = {"value": {"messaging_product": "whatsapp", "metadata": metadata, **value}, "field": "messages"}
    return {"object": WHATSAPP_OBJECT, "entry": [{"id": phone_number_id, "changes": [change]}]}


def whatsapp_status_body(
    *, phone_number_id: str, display_phone_number: str, message_id: str, recipient: str, status: str,
    opaque: str = "", at: int | None = None,
) -> dict:  # fmt: skip
    """One status of a sent message (sent, delivered, read), as its webhook names the recipient."""
    addressee = "recipient_id" if recipient.isascii() and recipient.isdigit() else "recipient_user_id"
    item: dict[str, Any] = {
        "id": message_id, "status": status, "timestamp": str(at or int(time.time())), addressee: recipient,
    }  # fmt: skip
    if opaque:
        item["biz_opaque_callback_data"] = opaque
    return _whatsapp(phone_number_id=phone_number_id, display_phone_number=display_phone_number,
                     value={"statuses": [item]})  # fmt: skip


def whatsapp_inbound_body(
    *, phone_number_id: str, display_phone_number: str, wa_id: str, name: str, message_id: str,
    text: str = "", button: tuple[str, str] | None = None, context_id: str = "", at: int | None = None,
) -> dict:  # fmt: skip
    """A message the person writes (`text`) or a template quick-reply they tap (`button`: (text, payload)),
    with the `context` of the message it answers."""
    message: dict[str, Any] = {"from": wa_id, "id": message_id, "timestamp": str(at or int(time.time()))}
    if button is not None:
        message.update(type="button", button={"payload": button[1], "text": button[0]})
    else:
        message.update(type="text", text={"body": text})
    if context_id:
        message["context"] = {"from": display_phone_number, "id": context_id}
    value = {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [message]}
    return _whatsapp(phone_number_id=phone_number_id, display_phone_number=display_phone_number, value=value)


def _messenger(*, page_id: str, psid: str, event: dict, at_ms: int) -> dict:
    item = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": at_ms, **event}
    return {"object": MESSENGER_OBJECT, "entry": [{"id": page_id, "time": at_ms, "messaging": [item]}]}


def messenger_watermark_body(*, page_id: str, psid: str, status: str, at_ms: int | None = None) -> dict:
    """Messenger reports `delivered` and `read` as a watermark: everything sent up to that time."""
    at_ms = at_ms or int(time.time() * 1000)
    event = {"delivery": {"watermark": at_ms}} if status == "delivered" else {"read": {"watermark": at_ms}}
    return _messenger(page_id=page_id, psid=psid, event=event, at_ms=at_ms)


def messenger_inbound_body(
    *, page_id: str, psid: str, message_id: str, text: str, payload: str = "", at_ms: int | None = None
) -> dict:
    """A message the person writes, or a quick reply they tap (`payload`)."""
    message: dict[str, Any] = {"mid": message_id, "text": text}
    if payload:
        message["quick_reply"] = {"payload": payload}
    return _messenger(page_id=page_id, psid=psid, event={"message": message}, at_ms=at_ms or int(time.time() * 1000))
