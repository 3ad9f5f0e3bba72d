"""Meta's WhatsApp template send body for one campaign recipient: the campaign's values, the shared builder."""

from __future__ import annotations

from apps.campaigns.models import MessageTemplate
from apps.conversations.outbound import template_parts
from apps.meta.payloads import whatsapp_template_payload


def campaign_send_body(*, template: MessageTemplate, to: str, values: dict[str, str], opaque: str) -> dict:
    """The body variables in the template's order, its header and buttons as the inbox sends them."""
    params = {variable: values[variable] for variable in template.variables}
    return whatsapp_template_payload(
        to, template.name, template.language, params=params, **template_parts(template), opaque=opaque
    )
