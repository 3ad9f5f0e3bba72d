"""How a message looks on the sandbox phone: a bubble from the stored send body or webhook item.

Pure: the caller passes the templates the thread names. A template is drawn from its own components:
the header (text, or the medium it links), the body with the parameters sent, and its quick-reply buttons,
each with the payload the send gave it, which is what a tap sends back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


@dataclass(frozen=True)
class Button:
    index: int
    text: str
    payload: str


@dataclass(frozen=True)
class Bubble:
    id: int
    mine: bool  # the customer's own message (right-hand side)
    kind: str
    header: str = ""
    text: str = ""
    footer: str = ""
    buttons: list[Button] = field(default_factory=list)
    status: str = ""
    at: Any = None


def bubble(message: Any, *, templates: dict[tuple[str, str], Any]) -> Bubble:
    """`message`: a SandboxMessage (direction, kind, payload, status, created_at)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    mine = message.direction == "from_customer"
    base = {"id": message.pk, "mine": mine, "kind": message.kind, "status": message.status, "at": message.created_at}
    if mine:
        return Bubble(**base, **_from_customer(payload))
    if message.kind == "template":
        return Bubble(**base, **_template(payload.get("template"), templates))
    return Bubble(**base, **_to_customer(message.kind, payload))


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _from_customer(item: dict) -> dict:
    if "button" in item:
        return {"text": str(_dict(item["button"]).get("text") or "")}
    if "text" in item and isinstance(item["text"], str):  # Messenger's message
        return {"text": item["text"]}
    return {"text": str(_dict(item.get("text")).get("body") or "")}


def _to_customer(kind: str, payload: dict) -> dict:
    if kind == "text":
        return {"text": str(_dict(payload.get("text")).get("body") or "")}
    if kind in MEDIA_KINDS:
        media = _dict(payload.get(kind))
        return {"header": f"[{kind}]", "text": str(media.get("caption") or media.get("filename") or "")}
    if kind == "interactive":
        return _interactive(_dict(payload.get("interactive")))
    if kind == "message":  # Messenger: a send body has no type
        return _messenger(_dict(payload.get("message")))
    return {"header": f"[{kind}]"}


def _interactive(content: dict) -> dict:
    action = _dict(content.get("action"))
    titles = [str(_dict(b.get("reply")).get("title") or "") for b in action.get("buttons") or [] if isinstance(b, dict)]
    return {
        "header": str(_dict(content.get("header")).get("text") or ""),
        "text": str(_dict(content.get("body")).get("text") or ""),
        "footer": str(_dict(content.get("footer")).get("text") or ""),
        "buttons": [Button(i, title, "") for i, title in enumerate(titles)],  # no payload: not tappable here
    }


def _messenger(message: dict) -> dict:
    replies = [r for r in message.get("quick_replies") or [] if isinstance(r, dict)]
    buttons = [Button(i, str(r.get("title") or ""), str(r.get("payload") or "")) for i, r in enumerate(replies)]
    attachment = _dict(message.get("attachment"))
    header = f"[{attachment.get('type')}]" if attachment else ""
    return {"header": header, "text": str(message.get("text") or ""), "buttons": buttons}


def _template(sent: Any, templates: dict) -> dict:
    sent = _dict(sent)
    name, language = str(sent.get("name") or ""), str(_dict(sent.get("language")).get("code") or "")
    components = [c for c in sent.get("components") or [] if isinstance(c, dict)]
    template = templates.get((name, language))
    if template is None:  # deleted since, or never ours: show what was sent
        return {"header": f"[template {name}]", "text": "", "buttons": _buttons(components, [])}
    values = _body_values(components)
    text = VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template.body)
    return {"header": _header(components), "text": text, "buttons": _buttons(components, template.buttons or [])}


def _body_values(components: list[dict]) -> dict[str, str]:
    body = next((c for c in components if c.get("type") == "body"), {})
    values = {}
    for position, parameter in enumerate(p for p in body.get("parameters") or [] if isinstance(p, dict)):
        key = str(parameter.get("parameter_name") or position + 1)  # named ({{first_name}}) or numbered ({{1}})
        values[key] = str(parameter.get("text") or "")
    return values


def _header(components: list[dict]) -> str:
    header = next((c for c in components if c.get("type") == "header"), None)
    if header is None:
        return ""
    parameter = next((p for p in header.get("parameters") or [] if isinstance(p, dict)), {})
    kind = str(parameter.get("type") or "")
    return str(parameter.get("text") or "") if kind == "text" else f"[{kind}]"


def _buttons(components: list[dict], defined: list[dict]) -> list[Button]:
    """The template's quick replies in order, each with the payload the send gave its index."""
    payloads: dict[int, str] = {}
    for component in components:
        if component.get("type") == "button" and component.get("sub_type") == "quick_reply":
            parameter = next((p for p in component.get("parameters") or [] if isinstance(p, dict)), {})
            index = int(component["index"]) if str(component.get("index", "")).isdigit() else len(payloads)
            payloads[index] = str(parameter.get("payload") or "")
    texts = [str(_dict(d).get("text") or "") for d in defined]
    buttons = []
    for index in range(max(len(texts), len(payloads))):
        text = texts[index] if index < len(texts) else ""
        payload = payloads.get(index) or text  # a send without a payload: Meta reports the button's text
        buttons.append(Button(index, text or payload, payload))
    return buttons
