"""What one inbound WhatsApp or Messenger item says: its kind, a body a person can read, structured data.

Pure functions over Meta's documented webhook payloads, no models: conversations' inbound services decide
what to store. Kinds are plain words ("text", "media"), the values of conversations' MessageKind. Items
that change an earlier message (reactions, edits) or the contact (system notices) are not content and are
handled by the services before this is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from apps.core import inputs
from apps.meta.values import as_dict as _dict
from apps.meta.values import as_list as _list

TEXT, MEDIA = "text", "media"
WA_MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MAP_URL = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
FLOW_TOKEN = "flow_token"  # Meta's echo of the token we sent with the flow: ours, not the customer's answer


@dataclass
class Content:
    kind: str
    body: str
    metadata: dict
    attachments: list = field(default_factory=list)
    # Text for the keyword engine: None means the body; "" means none (a card or an order is no keyword).
    keyword: str | None = ""


# --------------------------------------------------------------------------- WhatsApp
def wa_message_content(item: dict) -> Content:
    """The content of one WhatsApp `messages[]` item (any type but reaction, edit and system)."""
    kind = str(item.get("type") or "unknown")
    content = _dict(item.get(kind))
    metadata: dict = {"wa_type": kind}
    if item.get("context"):
        metadata["context"] = item["context"]
    if kind == "contacts":  # the one type whose content is a list at the item's top level
        return _wa_contacts(_list(item.get("contacts")), metadata)
    parser = _WA_PARSERS.get(kind)
    if parser is None and kind in WA_MEDIA_TYPES:
        parser = _wa_media
    if parser is None:
        metadata["unsupported"] = {
            k: v for k, v in item.items() if k not in ("from", "from_user_id", "id", "timestamp")
        }
        return Content(TEXT, "", metadata)
    return parser(kind, content, metadata)


def _wa_text(kind: str, content: dict, metadata: dict) -> Content:
    return Content(TEXT, str(content.get("body") or ""), metadata, keyword=None)


def _wa_media(kind: str, content: dict, metadata: dict) -> Content:
    attachment = {
        "type": kind,
        "media_id": str(content.get("id") or ""),
        "mime_type": str(content.get("mime_type") or ""),
        "sha256": str(content.get("sha256") or ""),
        "filename": str(content.get("filename") or ""),
        "status": "pending",
    }
    return Content(MEDIA, str(content.get("caption") or ""), metadata, [attachment], keyword=None)


def _wa_location(kind: str, content: dict, metadata: dict) -> Content:
    metadata["location"] = content
    label = " · ".join(str(content.get(k)) for k in ("name", "address") if content.get(k))
    coords = f"{content.get('latitude')}, {content.get('longitude')}"
    return Content(TEXT, f"📍 {label} ({coords})" if label else f"📍 {coords}", metadata)


def _wa_interactive(kind: str, content: dict, metadata: dict) -> Content:
    metadata["interactive"] = content
    if content.get("type") == "nfm_reply":
        return _wa_flow_reply(_dict(content.get("nfm_reply")), metadata)
    reply = _dict(content.get(str(content.get("type") or ""))) or _dict(content.get("button_reply"))
    metadata["payload"] = str(reply.get("id") or "")
    return Content(TEXT, str(reply.get("title") or ""), metadata, keyword=metadata["payload"] or None)


def _wa_flow_reply(reply: dict, metadata: dict) -> Content:
    """A WhatsApp Flow's answers arrive as a JSON string; they are stored parsed, and listed in the body."""
    try:
        answers = inputs.json_loads(str(reply.get("response_json") or "{}"), strip_controls=True)
    except inputs.InputError:
        answers = {}
    answers = _dict(answers)
    metadata["flow"] = {"name": str(reply.get("name") or ""), "token": str(answers.get(FLOW_TOKEN) or "")}
    metadata["flow_response"] = {k: v for k, v in answers.items() if k != FLOW_TOKEN}
    lines = [f"{key}: {_readable(value)}" for key, value in metadata["flow_response"].items()]
    return Content(TEXT, "\n".join(["📋 Form answers", *lines]), metadata)


def _readable(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _wa_button(kind: str, content: dict, metadata: dict) -> Content:
    metadata["payload"] = str(content.get("payload") or "")
    return Content(TEXT, str(content.get("text") or ""), metadata, keyword=metadata["payload"] or None)


def _wa_contacts(cards: list, metadata: dict) -> Content:
    metadata["contacts"] = [contact_card(card) for card in map(_dict, cards)]
    lines = [
        "👤 " + " · ".join([card["name"] or "(no name)", *(p["phone"] for p in card["phones"])])
        for card in metadata["contacts"]
    ]
    return Content(TEXT, "\n".join(lines), metadata)


def contact_card(card: dict) -> dict:
    """The parts of a shared vCard an agent acts on: who, which numbers, which e-mails, where they work."""
    name = _dict(card.get("name"))
    formatted = name.get("formatted_name") or " ".join(
        str(name.get(k)) for k in ("first_name", "last_name") if name.get(k)
    )
    return {
        "name": str(formatted or ""),
        "phones": [
            {"phone": str(p.get("phone") or ""), "wa_id": str(p.get("wa_id") or ""), "type": str(p.get("type") or "")}
            for p in map(_dict, _list(card.get("phones")))
            if p.get("phone") or p.get("wa_id")
        ],
        "emails": [str(e.get("email")) for e in map(_dict, _list(card.get("emails"))) if e.get("email")],
        "organization": str(_dict(card.get("org")).get("company") or ""),
    }


def _wa_order(kind: str, content: dict, metadata: dict) -> Content:
    items = [
        {
            "product_retailer_id": str(i.get("product_retailer_id") or ""),
            "quantity": _amount(i.get("quantity")),
            "item_price": _amount(i.get("item_price")),
            "currency": str(i.get("currency") or ""),
        }
        for i in map(_dict, _list(content.get("product_items")))
    ]
    metadata["order"] = {
        "catalog_id": str(content.get("catalog_id") or ""),
        "text": str(content.get("text") or ""),
        "items": items,
    }
    return Content(TEXT, _order_summary(metadata["order"]), metadata)


def _amount(value) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _order_summary(order: dict) -> str:
    lines = ", ".join(f"{i['product_retailer_id']} x {i['quantity']}" for i in order["items"])
    currencies = {i["currency"] for i in order["items"]}
    # Decimal: prices are money; a float sum can print 0.1 + 0.2 as 0.30000000000000004.
    total = sum((Decimal(str(i["quantity"])) * Decimal(str(i["item_price"])) for i in order["items"]), Decimal(0))
    summary = f"🛒 Order: {lines}"
    if len(currencies) == 1:
        summary += f" — {total:.2f} {currencies.pop()}"
    return f"{summary}\n{order['text']}" if order["text"] else summary


_WA_PARSERS = {
    "text": _wa_text,
    "location": _wa_location,
    "interactive": _wa_interactive,
    "button": _wa_button,
    "order": _wa_order,
}


# --------------------------------------------------------------------------- Messenger
def messenger_location(payload: dict) -> dict | None:
    """{latitude, longitude, url} of a Messenger location attachment, None when it carries no coordinates."""
    coordinates = _dict(payload.get("coordinates"))
    lat, lon = coordinates.get("lat"), coordinates.get("long")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    return {"latitude": lat, "longitude": lon, "url": MAP_URL.format(lat=lat, lon=lon)}


def location_body(location: dict, label: str = "") -> str:
    prefix = f"📍 {label} " if label else "📍 "
    return f"{prefix}({location['latitude']}, {location['longitude']}) {location['url']}"


def messenger_message_content(message: dict) -> Content:
    """The content of one Messenger `message`: its text, attachments (a location is data, not a file) and a
    quick reply's payload, which is what the keyword engine reads."""
    attachments, metadata, body = [], {}, str(message.get("text") or "")
    for attachment in map(_dict, _list(message.get("attachments"))):
        payload = _dict(attachment.get("payload"))
        location = messenger_location(payload)
        if location is not None:
            metadata["location"] = location
            body = body or location_body(location, str(attachment.get("title") or ""))
        elif payload.get("url"):
            attachments.append(
                {"type": str(attachment.get("type") or "file"), "source_url": str(payload["url"]), "status": "pending"}
            )
    quick_reply = _dict(message.get("quick_reply"))
    if quick_reply:
        metadata["payload"] = str(quick_reply.get("payload") or "")
    keyword = metadata.get("payload") or ("" if "location" in metadata else None)
    return Content(MEDIA if attachments else TEXT, body, metadata, attachments, keyword=keyword)


def messenger_postback_content(postback: dict) -> Content:
    """A tapped button: its title is what the person saw, its payload what the keyword engine reads."""
    payload = str(postback.get("payload") or "")
    metadata = {"payload": payload, "postback": True}
    return Content(TEXT, str(postback.get("title") or ""), metadata, [], keyword=payload or None)
