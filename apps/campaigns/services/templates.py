"""Message templates: validation, variables, rendering, previews and Meta's review lifecycle."""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.campaigns.models import STOP_PROMOTIONS, ChannelKind, MessageTemplate, TemplateCategory, TemplateStatus
from apps.campaigns.placeholders import VARIABLE, contact_field_value, template_render, template_variables
from apps.meta.webhooks import TemplateCategoryChange, TemplateReview

logger = logging.getLogger(__name__)

BRACES = re.compile(r"\{\{|\}\}")
WHATSAPP_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
MAX_BUTTONS = 3

# Meta's template events -> our status; events that do not change sendability are kept only as the raw event.
META_EVENTS = {
    "APPROVED": TemplateStatus.APPROVED,
    "REINSTATED": TemplateStatus.APPROVED,
    "PENDING": TemplateStatus.PENDING,
    "IN_APPEAL": TemplateStatus.PENDING,
    "REJECTED": TemplateStatus.REJECTED,
    "PAUSED": TemplateStatus.PAUSED,
    "DISABLED": TemplateStatus.DISABLED,
    "PENDING_DELETION": TemplateStatus.DISABLED,
    "DELETED": TemplateStatus.DISABLED,
    "ARCHIVED": TemplateStatus.DISABLED,
    "LIMIT_EXCEEDED": TemplateStatus.DISABLED,
}


def _body_errors(body: str) -> list[str]:
    if not (body or "").strip():
        return ["Write the message body."]
    if len(body) > 1024:
        return ["The body is limited to 1024 characters."]
    leftovers = BRACES.findall(VARIABLE.sub("", body))
    if leftovers:
        return ["Variables are written {{name}}: letters, digits and _, starting with a letter or _."]
    return []


def _buttons_clean(buttons) -> list[dict]:
    if buttons in (None, ""):
        return []
    if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
        raise ValidationError({"buttons": [f"Give a list of up to {MAX_BUTTONS} quick-reply buttons."]})
    clean = []
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"].strip():
            raise ValidationError({"buttons": ['Each button is {"text": "...", "payload": "..."}.']})
        if len(button["text"]) > 25:
            raise ValidationError({"buttons": ["A button's text is limited to 25 characters."]})
        payload = button.get("payload") or button["text"].strip()
        if not isinstance(payload, str) or len(payload) > 256:
            raise ValidationError({"buttons": ["A button's payload is a string of up to 256 characters."]})
        clean.append({"text": button["text"].strip(), "payload": payload})
    return clean


def stop_button(text: str = "Stop promotions") -> dict:
    """The quick reply the contacts keyword engine treats as a marketing opt-out."""
    return {"text": text, "payload": STOP_PROMOTIONS}


def _validate(template: MessageTemplate) -> None:
    errors: dict[str, list[str]] = {}
    if template.channel_kind not in ChannelKind.values:
        errors["channel_kind"] = [f"Choose one of {', '.join(ChannelKind.values)}."]
    if template.category not in TemplateCategory.values:
        errors["category"] = ["Choose marketing or utility."]
    if template.channel_kind == ChannelKind.WHATSAPP and not WHATSAPP_NAME.match(template.name or ""):
        errors["name"] = ["WhatsApp template names use lowercase letters, digits and _ (e.g. spring_sale)."]
    elif not (template.name or "").strip():
        errors["name"] = ["Name the template."]
    if not LANGUAGE.match(template.language or ""):
        errors["language"] = ["Give a language code such as es, en or es_ES."]
    if body_errors := _body_errors(template.body):
        errors["body"] = body_errors
    if template.header_media_url and template.header_media_type not in ("image", "video", "document"):
        errors["header_media_type"] = ["A header medium is an image, video or document."]
    if errors:
        raise ValidationError(errors)


def _save(template: MessageTemplate) -> MessageTemplate:
    _validate(template)
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise ValidationError({"name": ["A template with this name and language already exists."]}) from None
    return template


def template_create(
    *,
    merchant,
    name: str,
    language: str,
    body: str,
    channel_kind: str = ChannelKind.WHATSAPP,
    category: str = TemplateCategory.MARKETING,
    header_media_url: str = "",
    header_media_type: str = "",
    buttons: list | None = None,
    status: str | None = None,
) -> MessageTemplate:
    """WhatsApp templates start `pending` (Meta reviews them); other channels' start `approved`."""
    if status is None:
        status = TemplateStatus.PENDING if channel_kind == ChannelKind.WHATSAPP else TemplateStatus.APPROVED
    template = MessageTemplate(
        merchant=merchant,
        name=(name or "").strip(),
        language=(language or "").strip(),
        body=body or "",
        channel_kind=channel_kind,
        category=category,
        header_media_url=header_media_url or "",
        header_media_type=header_media_type or "",
        buttons=_buttons_clean(buttons),
        status=status,
    )
    return _save(template)


def template_update(*, template: MessageTemplate, **fields) -> MessageTemplate:
    """A changed WhatsApp body goes back to Meta's review, so it becomes `pending` again."""
    allowed = {"name", "language", "body", "category", "header_media_url", "header_media_type", "buttons"}
    unknown = set(fields) - allowed - {"status"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    reviewed_change = any(k in fields and fields[k] != getattr(template, k) for k in allowed - {"buttons"})
    for key, value in fields.items():
        setattr(template, key, _buttons_clean(value) if key == "buttons" else value)
    if template.channel_kind == ChannelKind.WHATSAPP and reviewed_change and "status" not in fields:
        template.status = TemplateStatus.PENDING
    return _save(template)


def template_delete(*, template: MessageTemplate) -> None:
    if template.campaigns.exists():
        raise ValidationError({"template": ["Campaigns use this template; it cannot be deleted."]})
    template.delete()


def template_preview(*, template: MessageTemplate, contact, params: dict | None = None, fallbacks=None) -> str:
    """The body as this contact would read it; variables without a value stay visible as {{name}}."""
    params = params or {v: v for v in template_variables(template.body)}
    values = {}
    for variable in template_variables(template.body):
        value = contact_field_value(contact, params.get(variable, variable)).strip()
        values[variable] = value or str((fallbacks or {}).get(variable, "")).strip() or f"{{{{{variable}}}}}"
    return template_render(template=template, values=values)


def template_status_apply(review: TemplateReview, *, merchant) -> int:
    """Meta's message_template_status_update: matched by name and language within the merchant."""
    name, language, event, reason = review.name, review.language, review.event, review.reason
    status = META_EVENTS.get((event or "").upper())
    updates = {"status_event": (event or "")[:40], "status_reason": ("" if reason in (None, "NONE") else reason)[:255]}
    if status is not None:
        updates["status"] = status
    changed = (
        MessageTemplate.objects.for_merchant(merchant)
        .filter(channel_kind=ChannelKind.WHATSAPP, name=name, language=language)
        .update(**updates)
    )
    logger.info("campaigns.template_status", extra={"merchant_id": merchant.pk, "template_name": name, "event": event})
    return changed


def template_category_apply(change: TemplateCategoryChange, *, merchant) -> int:
    """Meta's completed template_category_update: the approved template's category is now `change.category`.

    A category we do not model (AUTHENTICATION) changes nothing: the stored one still decides, and an
    unknown category is never read as permission to skip the consent check.
    """
    name, language, category = change.name, change.language, change.category
    new = (category or "").lower()
    if new not in TemplateCategory.values:
        logger.warning("campaigns.template_category_unknown", extra={"template_name": name, "category": category})
        return 0
    changed = (
        MessageTemplate.objects.for_merchant(merchant)
        .filter(channel_kind=ChannelKind.WHATSAPP, name=name, language=language)
        .update(category=new)
    )
    logger.info("campaigns.template_category", extra={"merchant_id": merchant.pk, "template_name": name, "to": new})
    return changed


def template_resolve(*, merchant, template_id) -> MessageTemplate | None:
    """For conversations' API: the merchant's template with this id (any status; the caller checks)."""
    try:
        return MessageTemplate.objects.for_merchant(merchant).get(pk=int(template_id))
    except (MessageTemplate.DoesNotExist, TypeError, ValueError):
        return None
