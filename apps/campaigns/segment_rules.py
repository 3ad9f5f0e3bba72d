"""Segment rules: validation and translation into one query over contacts.

Rules (all optional, combined with AND):
  tags_any: [str]          the contact has at least one of these tags
  tags_all: [str]          ... all of them
  tags_none: [str]         ... none of them
  attributes: [{"key", "op", "value"}]   op: eq ne gt gte lt lte contains exists missing
  has_identity: "whatsapp" | "messenger" | "webchat"
  last_seen_within_days: n / last_seen_over_days: n (never seen counts as "over")
  created_within_days: n / created_after: ISO date-time / created_before: ISO date-time
  consent: {"channel": "whatsapp", "purpose": "marketing", "status": ["granted", ...]}
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import BooleanField, Exists, F, JSONField, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import HasKey, KeyTransform
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.contacts.models import ConsentChannel, ConsentState, ConsentStatus, Contact, ContactIdentity, IdentityKind

KNOWN_RULES = {
    "tags_any",
    "tags_all",
    "tags_none",
    "attributes",
    "has_identity",
    "last_seen_within_days",
    "last_seen_over_days",
    "created_within_days",
    "created_after",
    "created_before",
    "consent",
}
ATTRIBUTE_OPS = {"eq", "ne", "gt", "gte", "lt", "lte", "contains", "exists", "missing"}
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Keys named like an ORM lookup or transform (has_key, isnull, regex, contains...) are refused even though
# the query below never parses a key: one allow-list a reader can check beats trusting every future builder.
RESERVED_ATTRIBUTE_KEYS = frozenset(JSONField.get_lookups()) | frozenset(KeyTransform.get_lookups())
MAX_LIST = 100


def _fail(rule: str, reason: str) -> ValidationError:
    return ValidationError({"rules": [f"{rule}: {reason}"]})


def _tags(rules: dict, key: str) -> list[str]:
    value = rules[key]
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        raise _fail(key, f"give a list of 1 to {MAX_LIST} tags")
    if not all(isinstance(t, str) and t.strip() for t in value):
        raise _fail(key, "every tag must be a non-empty string")
    return [t.strip() for t in value]


def _days(rules: dict, key: str) -> int:
    value = rules[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
        raise _fail(key, "give a whole number of days between 0 and 36500")
    return value


def _instant(rules: dict, key: str):
    raw = rules[key]
    value = parse_datetime(raw) if isinstance(raw, str) else None
    if value is None and isinstance(raw, str) and parse_date(raw):
        value = parse_datetime(f"{raw}T00:00:00")
    if value is None:
        raise _fail(key, "give an ISO 8601 date or date-time")
    return value if timezone.is_aware(value) else timezone.make_aware(value, timezone.UTC)


def _attribute(item) -> dict:
    if not isinstance(item, dict):
        raise _fail("attributes", 'each condition is an object {"key", "op", "value"}')
    key, op = item.get("key"), item.get("op", "eq")
    if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key) or "__" in key:
        raise _fail("attributes", "key must be letters, digits or single _ (starting with a letter), up to 64")
    if key.lower() in RESERVED_ATTRIBUTE_KEYS:
        raise _fail("attributes", f"“{key}” is a reserved word and cannot be used as an attribute key")
    if op not in ATTRIBUTE_OPS:
        raise _fail("attributes", f"op must be one of {', '.join(sorted(ATTRIBUTE_OPS))}")
    if op not in {"exists", "missing"} and "value" not in item:
        raise _fail("attributes", f"“{key}” {op} needs a value")
    value = item.get("value")
    if op in {"gt", "gte", "lt", "lte"} and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        raise _fail("attributes", f"“{key}” {op} compares with a number or a string")
    if op == "contains" and not isinstance(value, str):
        raise _fail("attributes", f"“{key}” contains needs a string")
    if isinstance(value, dict | list):
        raise _fail("attributes", f"“{key}”: compare with a single value")
    return {"key": key, "op": op, "value": value}


def _consent(value) -> dict:
    if not isinstance(value, dict):
        raise _fail("consent", 'give {"channel", "purpose", "status": [...]}')
    channel = value.get("channel")
    purpose = value.get("purpose", "marketing")
    statuses = value.get("status", ["granted"])
    if channel not in ConsentChannel.values:
        raise _fail("consent", f"channel must be one of {', '.join(ConsentChannel.values)}")
    if purpose not in ("marketing", "utility"):
        raise _fail("consent", "purpose must be marketing or utility")
    if isinstance(statuses, str):
        statuses = [statuses]
    if not isinstance(statuses, list) or not statuses or any(s not in ConsentStatus.values for s in statuses):
        raise _fail("consent", f"status must be a list of {', '.join(ConsentStatus.values)}")
    return {"channel": channel, "purpose": purpose, "status": statuses}


def rules_clean(rules) -> dict:
    """Validated, normalised rules; ValidationError naming the rule and the reason otherwise."""
    if rules in (None, ""):
        return {}
    if not isinstance(rules, dict):
        raise ValidationError({"rules": ["rules must be an object"]})
    unknown = sorted(set(rules) - KNOWN_RULES)
    if unknown:
        raise _fail(unknown[0], f"unknown rule (known: {', '.join(sorted(KNOWN_RULES))})")
    clean: dict = {}
    for key in ("tags_any", "tags_all", "tags_none"):
        if key in rules:
            clean[key] = _tags(rules, key)
    if "attributes" in rules:
        if not isinstance(rules["attributes"], list) or len(rules["attributes"]) > MAX_LIST:
            raise _fail("attributes", f"give a list of up to {MAX_LIST} conditions")
        clean["attributes"] = [_attribute(item) for item in rules["attributes"]]
    if "has_identity" in rules:
        if rules["has_identity"] not in IdentityKind.values:
            raise _fail("has_identity", f"must be one of {', '.join(IdentityKind.values)}")
        clean["has_identity"] = rules["has_identity"]
    for key in ("last_seen_within_days", "last_seen_over_days", "created_within_days"):
        if key in rules:
            clean[key] = _days(rules, key)
    for key in ("created_after", "created_before"):
        if key in rules:
            _instant(rules, key)
            clean[key] = rules[key]
    if "consent" in rules:
        clean["consent"] = _consent(rules["consent"])
    return clean


def _has_tag(tag: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(tags__contains=[tag])  # jsonb @> uses the GIN index
    expression = RawSQL(  # noqa: S611 - the table name is ours, the tag is a parameter
        f"EXISTS (SELECT 1 FROM json_each({Contact._meta.db_table}.tags) WHERE json_each.value = %s)",  # noqa: S608
        [tag],
        output_field=BooleanField(),
    )
    return Q(expression)


def _attribute_q(item: dict, alias: str) -> Q:
    """`alias` names the annotated `KeyTransform` of the item's key: the key is an expression argument,
    never part of an `attributes__<key>` string, so it cannot become a lookup; `op` is one of ours."""
    op, value = item["op"], item["value"]
    has_key = Q(HasKey(F("attributes"), item["key"]))
    if op == "exists":
        return has_key
    if op == "missing":
        return ~has_key
    if op == "contains":
        return Q(**{f"{alias}__icontains": value})
    if op == "ne":
        return ~Q(**{alias: value}) | ~has_key
    return Q(**{alias if op == "eq" else f"{alias}__{op}": value})


def consent_status_expression(*, channel: str, purpose: str):
    states = ConsentState.objects.filter(contact=OuterRef("pk"), channel=channel, purpose=purpose)
    return Coalesce(states.values("status")[:1], Value(ConsentStatus.NONE))


def rules_queryset(*, merchant, rules: dict) -> QuerySet[Contact]:
    """The contacts a segment's rules select, never erased or merged ones."""
    rules = rules_clean(rules)
    qs = Contact.objects.for_merchant(merchant).filter(erased_at__isnull=True, merged_into__isnull=True)
    now = timezone.now()
    if "tags_any" in rules:
        any_q = Q()
        for tag in rules["tags_any"]:
            any_q |= _has_tag(tag)
        qs = qs.filter(any_q)
    for tag in rules.get("tags_all", []):
        qs = qs.filter(_has_tag(tag))
    for tag in rules.get("tags_none", []):
        qs = qs.exclude(_has_tag(tag))
    for index, item in enumerate(rules.get("attributes", [])):
        alias = f"segment_attribute_{index}"
        qs = qs.alias(**{alias: KeyTransform(item["key"], "attributes")}).filter(_attribute_q(item, alias))
    if "has_identity" in rules:
        identities = ContactIdentity.objects.filter(contact=OuterRef("pk"), kind=rules["has_identity"])
        qs = qs.filter(Exists(identities))
    if "last_seen_within_days" in rules:
        qs = qs.filter(last_seen_at__gte=now - timedelta(days=rules["last_seen_within_days"]))
    if "last_seen_over_days" in rules:
        cutoff = now - timedelta(days=rules["last_seen_over_days"])
        qs = qs.filter(Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True))
    if "created_within_days" in rules:
        qs = qs.filter(created_at__gte=now - timedelta(days=rules["created_within_days"]))
    if "created_after" in rules:
        qs = qs.filter(created_at__gte=_instant(rules, "created_after"))
    if "created_before" in rules:
        qs = qs.filter(created_at__lt=_instant(rules, "created_before"))
    if "consent" in rules:
        consent = rules["consent"]
        expression = consent_status_expression(channel=consent["channel"], purpose=consent["purpose"])
        qs = qs.alias(segment_consent=expression).filter(segment_consent__in=consent["status"])
    return qs
