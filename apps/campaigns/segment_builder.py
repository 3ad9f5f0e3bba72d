"""The segment builder's rows (field / operator / value, matched all or any) as the rules of `segment_rules`.

The wizard shows rows, never JSON; this module turns them into the one rule format and back to a message
per row when a row cannot be turned. Pure: no database access (attribute keys arrive as plain strings).
"""

from __future__ import annotations

from dataclasses import dataclass

MATCH_CHOICES = [("all", "all of these"), ("any", "any of these")]
FIXED_FIELDS = [
    ("tag", "Tag"),
    ("consent", "WhatsApp marketing consent"),
    ("last_seen", "Last seen"),
    ("created", "Added"),
    ("channel", "Reachable on"),
]
OPERATORS: dict[str, list[tuple[str, str]]] = {
    "tag": [("is", "is"), ("is_not", "is not")],
    "consent": [("is", "is")],
    "last_seen": [("within_days", "within the last N days"), ("over_days", "more than N days ago")],
    "created": [("within_days", "within the last N days")],
    "channel": [("is", "is")],
    "attribute": [
        ("eq", "is"),
        ("ne", "is not"),
        ("contains", "contains"),
        ("gt", "is greater than"),
        ("lt", "is less than"),
        ("exists", "is set"),
        ("missing", "is not set"),
    ],
}
VALUES = {
    "consent": ["granted", "pending", "revoked", "none"],
    "channel": ["whatsapp", "messenger", "webchat"],
}
NO_VALUE_OPS = {"exists", "missing"}


@dataclass
class Row:
    field: str = ""
    op: str = ""
    value: str = ""


class RowsInvalid(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def field_kind(field: str) -> str:
    return "attribute" if field.startswith("attributes.") else field


def operator_choices() -> list[tuple[str, str]]:
    """Every operator once (the select lists them all; a wrong pair gets its own message)."""
    seen: dict[str, str] = {}
    for ops in OPERATORS.values():
        for code, label in ops:
            seen.setdefault(code, label)
    return list(seen.items())


def _days(number: int, value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 36500:
        raise ValueError(f"Row {number}: give a whole number of days (0 to 36500).")
    return int(value)


def _scalar(value: str) -> int | float | str:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


def _row_error(number: int, row: Row, fields: set[str]) -> str | None:
    if not row.field and not row.value:
        return f"Row {number} is empty: choose a field and fill in a value, or remove the row."
    if row.field not in fields:
        return f"Row {number}: choose a field."
    kind = field_kind(row.field)
    if row.op not in dict(OPERATORS[kind]):
        allowed = ", ".join(f"“{label}”" for _, label in OPERATORS[kind])
        return f"Row {number}: “{dict(FIXED_FIELDS).get(row.field, row.field)}” takes {allowed}."
    if row.op not in NO_VALUE_OPS and not row.value.strip():
        return f"Row {number}: fill in a value."
    if kind in VALUES and row.value not in VALUES[kind]:
        return f"Row {number}: choose one of {', '.join(VALUES[kind])}."
    return None


def rows_to_rules(rows: list[Row], *, match: str, attribute_keys: list[str]) -> dict:
    """Rules for `segment_rules`; RowsInvalid listing one message per bad row otherwise."""
    fields = {code for code, _ in FIXED_FIELDS} | {f"attributes.{key}" for key in attribute_keys}
    errors = [e for n, row in enumerate(rows, 1) if (e := _row_error(n, row, fields))]
    if not rows:
        errors.append("Add at least one row, or pick a saved segment.")
    if match == "any" and not errors and any(field_kind(r.field) != "tag" or r.op != "is" for r in rows):
        errors.append("“Any of these” works with “Tag is” rows only; use “all of these” to combine other rows.")
    if errors:
        raise RowsInvalid(errors)
    rules: dict = {}
    for number, row in enumerate(rows, 1):
        try:
            _add(rules, number, row, match)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise RowsInvalid(errors)
    return rules


def _add(rules: dict, number: int, row: Row, match: str) -> None:
    kind, value = field_kind(row.field), row.value.strip()
    if kind == "tag":
        key = "tags_none" if row.op == "is_not" else ("tags_any" if match == "any" else "tags_all")
        rules.setdefault(key, []).append(value)
    elif kind == "consent":
        if "consent" in rules:
            raise ValueError(f"Row {number}: consent is already set by an earlier row.")
        rules["consent"] = {"channel": "whatsapp", "purpose": "marketing", "status": [value]}
    elif kind in ("last_seen", "created"):
        key = f"{kind}_{row.op}"
        if key in rules:
            raise ValueError(f"Row {number}: an earlier row already sets this.")
        rules[key] = _days(number, value)
    elif kind == "channel":
        rules["has_identity"] = value
    else:
        item = {"key": row.field.removeprefix("attributes."), "op": row.op}
        if row.op not in NO_VALUE_OPS:
            item["value"] = value if row.op == "contains" else _scalar(value)
        rules.setdefault("attributes", []).append(item)
