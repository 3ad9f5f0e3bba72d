"""Serializer bases shared by every API app."""

from collections.abc import Mapping

from django.http import QueryDict
from rest_framework import serializers

from apps.core import inputs

# JSON type each writable field takes, most specific first (BooleanField before IntegerField: bool is an int).
_JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.IntegerField, (int,), "Must be an integer."),
    (serializers.FloatField, (int, float), "Must be a number."),
    (serializers.PrimaryKeyRelatedField, (int,), "Must be an integer."),  # an id is an integer: one message
    (serializers.MultipleChoiceField, (list,), "Must be a list."),
    (serializers.CharField, (str,), "Must be a string."),
    (serializers.ChoiceField, (str,), "Must be a string."),
    (serializers.DateTimeField, (str,), "Must be an ISO 8601 date-time string."),
    (serializers.ListField, (list,), "Must be a list."),
    (serializers.DictField, (dict,), "Must be an object."),
)


_SHAPE_TYPES = {"object": (dict, "Must be an object."), "array": (list, "Must be a list.")}


def json_type_error(field: serializers.Field, value: object) -> str | None:
    """Why `value` is not of the JSON type the schema documents for `field` (None when it is)."""
    if value is None:
        return None  # allow_null is the field's own business
    if isinstance(field, ShapedJSONField) and field.shape.get("type") in _SHAPE_TYPES:
        types, message = _SHAPE_TYPES[field.shape["type"]]
        return None if isinstance(value, types) else message
    for field_class, types, message in _JSON_TYPES:
        if isinstance(field, field_class):
            if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
                return message
            return _child_error(field, value)
    return None


def _child_error(field: serializers.Field, value: object) -> str | None:
    if isinstance(field, serializers.ListField):
        items = value
    elif isinstance(field, serializers.DictField):
        items = value.values()
    else:
        return None
    return next((f"Each item: {e}" for item in items if (e := json_type_error(field.child, item))), None)


class JsonTypedMixin:
    """Refuses a JSON body whose values have the wrong JSON type instead of coercing them.

    DRF turns `0` into `"0"` for a string field and `"12"` into `12` for an integer field; the API
    schema says `string` and `integer`, so a client sending the other is told so (400), not guessed at.
    Form-encoded bodies (uploads) carry only strings and are left to the fields.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            errors = {
                name: [message]
                for name, field in self.fields.items()
                if not field.read_only and name in data and (message := _value_error(field, data[name]))
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _value_error(field: serializers.Field, value: object) -> str | None:
    """The wrong JSON type, or text (at any depth, keys included) that cannot be stored."""
    message = json_type_error(field, value)
    if message:
        return message
    try:
        inputs.json_strings_check(value, field=None)
    except inputs.InputError as exc:
        return exc.message
    return None


class InputSerializer(JsonTypedMixin, serializers.Serializer):
    """Base of every API input serializer."""


class ModelInputSerializer(JsonTypedMixin, serializers.ModelSerializer):
    """Base of every API model serializer that also reads a body."""


class WholeBodySerializer(InputSerializer):
    """A body validated whole even on PATCH: its required fields are required at runtime and in the schema.

    drf-spectacular marks every PATCH body partial (nothing required), as DRF's generic update does;
    an operation that takes one field to act on (a member's role) must not be documented that way.
    """

    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        """Ignored: this body is never partial."""


class ChoiceTextField(serializers.CharField):
    """A string the service checks against `choices` (its refusal names the field and lists them).

    Documented as an enum, so the schema tells a client what the service will accept.
    """

    def __init__(self, *, choices, **kwargs):
        self.allowed = [str(value) for value in choices]
        super().__init__(**kwargs)


class ShapedJSONField(serializers.JSONField):
    """A JSON value the service validates, documented with its `shape` (an OpenAPI schema object)."""

    def __init__(self, *, shape: dict, **kwargs):
        self.shape = shape
        super().__init__(**kwargs)
