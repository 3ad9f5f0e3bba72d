"""Template placeholders (`{{name}}`): which a body holds, what a contact fills them with, the rendering.

Pure text logic with no database access, so the model (`MessageTemplate.variables`), the services and
the payload builder all read it from here without importing one another.
"""

from __future__ import annotations

import re
from typing import Protocol

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
CONTACT_FIELDS = ("name", "first_name", "last_name", "phone", "email", "locale", "timezone")


class HasBody(Protocol):
    """What these functions need of a template (a MessageTemplate is one)."""

    body: str


def template_variables(body: str) -> list[str]:
    """Variable names in order of first appearance."""
    return list(dict.fromkeys(VARIABLE.findall(body or "")))


def contact_field_value(contact: object, field: str) -> str:
    """The text a variable mapped to `field` takes for this contact (a Contact or a values() row; "" when empty)."""
    get = contact.get if isinstance(contact, dict) else lambda k, d=None: getattr(contact, k, d)
    name = (get("name") or "").strip()
    if field == "first_name":
        return name.split(" ")[0] if name else ""
    if field == "last_name":
        return name.split(" ", 1)[1] if " " in name else ""
    if field in CONTACT_FIELDS:
        return str(get(field) or "")
    key = field.removeprefix("attributes.")
    value = (get("attributes") or {}).get(key)
    return "" if value is None else str(value)


def field_name_valid(field: str) -> bool:
    return field in CONTACT_FIELDS or bool(re.match(r"^(attributes\.)?[A-Za-z][A-Za-z0-9_]{0,63}$", field or ""))


def template_values(*, template: HasBody, contact: object, params: dict, fallbacks: dict) -> dict[str, str] | None:
    """Variable -> text for one contact, or None when a variable has neither a value nor a fallback."""
    values = {}
    for variable in template_variables(template.body):
        value = contact_field_value(contact, params[variable]) if variable in params else ""
        value = value.strip() or str(fallbacks.get(variable, "")).strip()
        if not value:
            return None
        values[variable] = value
    return values


def template_render(*, template: HasBody, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template.body)


def template_parts(body: str) -> list[tuple[str, str | None]]:
    """The body cut into (text, None) and (raw placeholder, variable) pieces, for a preview that marks them."""
    parts: list[tuple[str, str | None]] = []
    last = 0
    for match in VARIABLE.finditer(body or ""):
        if match.start() > last:
            parts.append((body[last : match.start()], None))
        parts.append((match.group(0), match.group(1)))
        last = match.end()
    if last < len(body or ""):
        parts.append((body[last:], None))
    return parts
