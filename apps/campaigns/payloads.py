"""Meta's WhatsApp template send body for one campaign recipient."""

from __future__ import annotations

from typing import Any

from apps.campaigns.models import MessageTemplate
from apps.campaigns.placeholders import template_variables
from apps.conversations.providers import whatsapp_addressee


def whatsapp_campaign_payload(*, template: MessageTemplate, to: str, values: dict[str, str], opaque: str) -> dict:
    components: list[dict[str, Any]] = []
    if template.header_media_url:
        kind = template.header_media_type or "image"
        components.append({"type": "header", "parameters": [{"type": kind, kind: {"link": template.header_media_url}}]})
    variables = template_variables(template.body)
    if variables:
        parameters = [{"type": "text", "parameter_name": v, "text": values[v]} for v in variables]
        components.append({"type": "body", "parameters": parameters})
    for index, button in enumerate(template.buttons or []):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": button["payload"]}],
            }
        )
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if components:
        body["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **whatsapp_addressee(to),
        "type": "template",
        "template": body,
        "biz_opaque_callback_data": opaque,
    }
