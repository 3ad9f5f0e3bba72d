"""Graph API send bodies for every outbound kind: plain values in, Meta's JSON out.

WhatsApp Cloud API (`/{phone_number_id}/messages`) and Messenger Send API (`/{page_id}/messages`).
Limits Meta enforces are checked here, so a bad message is refused with a clear ValueError before
it is queued rather than coming back later as Graph error 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# WhatsApp sends images as JPEG/PNG only; other image types still reach the customer as a document.
WHATSAPP_IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
WHATSAPP_MEDIA_TYPES = ("image", "audio", "video", "document")
CAPTION_TYPES = frozenset({"image", "video", "document"})  # WhatsApp refuses a caption on audio
HEADER_MEDIA_TYPES = frozenset({"image", "video", "document"})
MESSENGER_TYPES = {"image": "image", "audio": "audio", "video": "video", "document": "file"}
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
MAX_QUICK_REPLIES = 13
MAX_TEMPLATE_BUTTONS = 10  # Meta: a template has up to ten buttons
OPAQUE_MAX = 512


# --------------------------------------------------------------------------- WhatsApp
def whatsapp_addressee(address: str) -> dict[str, str]:
    """The body fields that name the person: a number (a wa_id, or an E.164 phone) goes in `to`; a
    business-scoped user id (`US.1349…`, never a number) goes in `recipient`, and `to` is left out,
    since Meta lets `to` win when both are present."""
    address = str(address)
    number = address.removeprefix("+")
    return {"to": address} if number.isascii() and number.isdigit() else {"recipient": address}


def _whatsapp(to: str, kind: str, content: dict) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **whatsapp_addressee(to),
            "type": kind, kind: content}  # fmt: skip


def whatsapp_text_payload(to: str, text: str, *, preview_url: bool = False) -> dict:
    return _whatsapp(to, "text", {"preview_url": preview_url, "body": text})


def whatsapp_media_type(media_type: str, mime_type: str) -> str:
    if media_type == "image" and mime_type not in WHATSAPP_IMAGE_TYPES:
        return "document"
    return media_type if media_type in WHATSAPP_MEDIA_TYPES else "document"


def whatsapp_media_payload(to: str, media_type: str, media_id: str, caption: str = "", filename: str = "") -> dict:
    if media_type not in WHATSAPP_MEDIA_TYPES:
        raise ValueError(f"a WhatsApp medium is one of {', '.join(WHATSAPP_MEDIA_TYPES)}, not {media_type!r}")
    media: dict[str, Any] = {"id": media_id}
    if caption and media_type in CAPTION_TYPES:
        media["caption"] = caption
    if filename and media_type == "document":
        media["filename"] = filename
    return _whatsapp(to, media_type, media)


def template_body_parameters(params: Mapping | Sequence | None) -> list[dict]:
    """Named templates ({{first_name}}) take `parameter_name`, in the mapping's order; numbered ones a list."""
    if not params:
        return []
    if isinstance(params, Mapping):
        return [{"type": "text", "parameter_name": str(k), "text": str(v)} for k, v in params.items()]
    return [{"type": "text", "text": str(v)} for v in params]


def template_header(*, media_type: str = "", link: str = "", text: str = "") -> dict | None:
    """A template's header component: a medium by link (image when the type is not given) or a text
    parameter; None when the template has no variable header."""
    if link:
        kind = media_type or "image"
        if kind not in HEADER_MEDIA_TYPES:
            raise ValueError(f"a template header medium is an image, video or document, not {kind!r}")
        return {"type": "header", "parameters": [{"type": kind, kind: {"link": link}}]}
    if text:
        return {"type": "header", "parameters": [{"type": "text", "text": text}]}
    return None


def template_buttons(*, quick_replies: Iterable[str] = (), url_suffixes: Mapping[int, str] | None = None) -> list[dict]:
    """Button components: quick replies carry their payload (index = position); a URL button with a
    dynamic suffix carries the suffix at the button's own index."""
    buttons = [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(i),
            "parameters": [{"type": "payload", "payload": p}],
        }
        for i, p in enumerate(quick_replies)
    ]
    for index, suffix in sorted((url_suffixes or {}).items()):
        buttons.append({"type": "button", "sub_type": "url", "index": str(index),
                        "parameters": [{"type": "text", "text": suffix}]})  # fmt: skip
    if len(buttons) > MAX_TEMPLATE_BUTTONS:
        raise ValueError(f"a template sends at most {MAX_TEMPLATE_BUTTONS} button parameters, not {len(buttons)}")
    return buttons


def whatsapp_template_payload(
    to: str,
    name: str,
    language: str,
    params: Mapping | Sequence | None = None,
    *,
    header: dict | None = None,
    buttons: Sequence[dict] = (),
    opaque: str | None = None,
) -> dict:
    """A template send: header, body parameters and buttons in Meta's component order."""
    body = template_body_parameters(params)
    components = [*([header] if header else []), *([{"type": "body", "parameters": body}] if body else []), *buttons]
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = components
    payload = _whatsapp(to, "template", template)
    if opaque:
        payload["biz_opaque_callback_data"] = str(opaque)[:OPAQUE_MAX]
    return payload


def _interactive(to: str, kind: str, body: str, action: dict, header: str = "", footer: str = "") -> dict:
    if not body:
        raise ValueError("an interactive message needs a body text")
    content: dict[str, Any] = {"type": kind, "body": {"text": body}, "action": action}
    if header:
        content["header"] = {"type": "text", "text": header}
    if footer:
        content["footer"] = {"text": footer}
    return _whatsapp(to, "interactive", content)


def whatsapp_reply_buttons_payload(
    to: str, body: str, buttons: Sequence[tuple[str, str]], *, header: str = "", footer: str = ""
) -> dict:
    """Up to three reply buttons, each (id, title)."""
    if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
        raise ValueError(f"reply buttons: give 1 to {MAX_REPLY_BUTTONS}, not {len(buttons)}")
    action = {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in buttons]}
    return _interactive(to, "button", body, action, header, footer)


def whatsapp_list_payload(
    to: str,
    body: str,
    button: str,
    sections: Sequence[tuple[str, Sequence[tuple[str, str, str]]]],
    *,
    header: str = "",
    footer: str = "",
) -> dict:
    """A list: sections of (title, rows), each row (id, title, description); ten rows at most in all."""
    rows = sum(len(section_rows) for _, section_rows in sections)
    if not 1 <= rows <= MAX_LIST_ROWS:
        raise ValueError(f"a list holds 1 to {MAX_LIST_ROWS} rows across its sections, not {rows}")
    action = {"button": button, "sections": [
        {"title": title, "rows": [{"id": i, "title": t, **({"description": d} if d else {})} for i, t, d in rows_]}
        for title, rows_ in sections
    ]}  # fmt: skip
    return _interactive(to, "list", body, action, header, footer)


def whatsapp_cta_url_payload(to: str, body: str, text: str, url: str, *, header: str = "", footer: str = "") -> dict:
    """One call-to-action button that opens `url`."""
    if not url.startswith("https://"):
        raise ValueError("a call-to-action URL starts with https://")
    action = {"name": "cta_url", "parameters": {"display_text": text, "url": url}}
    return _interactive(to, "cta_url", body, action, header, footer)


def whatsapp_location_payload(to: str, latitude: float, longitude: float, name: str = "", address: str = "") -> dict:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("a location's latitude is within ±90 and its longitude within ±180")
    location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    location.update({k: v for k, v in (("name", name), ("address", address)) if v})
    return _whatsapp(to, "location", location)


def whatsapp_location_request_payload(to: str, body: str) -> dict:
    """Asks the person to share their location (a "Send location" button under `body`)."""
    return _interactive(to, "location_request_message", body, {"name": "send_location"})


# --------------------------------------------------------------------------- Messenger
def messenger_media_type(media_type: str) -> str:
    return MESSENGER_TYPES.get(media_type, "file")


def _messenger(psid: str, message: dict, messaging_type: str, tag: str | None) -> dict:
    payload: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": messaging_type, "message": message}
    if tag:
        payload["tag"] = tag
    return payload


def messenger_text_payload(psid: str, text: str, messaging_type: str = "RESPONSE", tag: str | None = None) -> dict:
    return _messenger(psid, {"text": text}, messaging_type, tag)


def messenger_attachment_payload(
    psid: str, media_type: str, attachment_id: str, messaging_type: str = "RESPONSE", tag: str | None = None
) -> dict:
    attachment = {"type": media_type, "payload": {"attachment_id": attachment_id}}
    return _messenger(psid, {"attachment": attachment}, messaging_type, tag)


def messenger_quick_replies_payload(
    psid: str, text: str, replies: Sequence[tuple[str, str]], messaging_type: str = "RESPONSE", tag: str | None = None
) -> dict:
    """Text with up to 13 quick replies, each (title, payload)."""
    if not 1 <= len(replies) <= MAX_QUICK_REPLIES:
        raise ValueError(f"quick replies: give 1 to {MAX_QUICK_REPLIES}, not {len(replies)}")
    quick = [{"content_type": "text", "title": t, "payload": p} for t, p in replies]
    return _messenger(psid, {"text": text, "quick_replies": quick}, messaging_type, tag)


def messenger_button_template_payload(
    psid: str, text: str, buttons: Sequence[dict], messaging_type: str = "RESPONSE", tag: str | None = None
) -> dict:
    """The button template: text and up to three buttons (`web_url` or `postback` dicts, as Meta spells them)."""
    if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
        raise ValueError(f"a button template holds 1 to {MAX_REPLY_BUTTONS} buttons, not {len(buttons)}")
    template = {"template_type": "button", "text": text, "buttons": list(buttons)}
    return _messenger(psid, {"attachment": {"type": "template", "payload": template}}, messaging_type, tag)
