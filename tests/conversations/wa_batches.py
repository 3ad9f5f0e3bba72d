"""WhatsApp webhook bodies carrying several messages, as Meta batches them under load."""

from __future__ import annotations

import json

from django.utils import timezone


def wa_text_item(wa_id: str, mid: str, text: str) -> dict:
    return {"from": wa_id, "id": mid, "timestamp": str(int(timezone.now().timestamp())), "type": "text",
            "text": {"body": text}}  # fmt: skip


def wa_messages_body(channel, items: list[dict], names: dict[str, str] | None = None) -> bytes:
    senders = dict.fromkeys(item["from"] for item in items)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000001", "phone_number_id": channel.phone_number_id},
        "contacts": [{"profile": {"name": (names or {}).get(s, f"Person {s[-3:]}")}, "wa_id": s} for s in senders],
        "messages": items,
    }
    envelope = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": value}]}]}  # fmt: skip
    return json.dumps(envelope).encode()
