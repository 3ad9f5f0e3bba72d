"""OpenAPI descriptions: authentication (imported from CoreConfig.ready) and the error envelope of every operation."""

from django.core.exceptions import FieldDoesNotExist
from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from apps.core import inputs


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.core.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A merchant API key: `Authorization: Bearer <key>`."}


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.core.api.authentication.PortalSessionAuthentication"
    name = "PortalSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The portal's own session."}


class ChoiceTextFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "apps.core.api.serializers.ChoiceTextField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": self.target.allowed + ([""] if self.target.allow_blank else [])}


class ShapedJSONFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "apps.core.api.serializers.ShapedJSONField"

    def map_serializer_field(self, auto_schema, direction):
        return dict(self.target.shape)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine code: `validation_error`, `not_found`, or the refusing rule.")
    message = serializers.CharField(help_text="A sentence for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each bad field with its reasons (`non_field_errors` for the whole body); empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    """The contract's error envelope, the body of every 4xx answer (component `Error`)."""

    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `error.fields` names each bad field (query parameters and `path` included).",
    401: "No API key, or an invalid or revoked one.",
    403: "The caller's role cannot use this operation.",
    404: "No such object for this merchant (another merchant's id included).",
    409: "The object's current state does not allow this; `error.code` says why.",
    415: "The body's media type is not one this operation reads.",
    422: "A business rule refused a well-formed request; `error.code` names the rule.",
    429: "Too many requests for this key; retry after the `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error envelope for these statuses, for `extend_schema(responses={...})` and the base schema."""
    return {status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status]) for status in statuses}


# Every string field refuses NUL; a non-blank one also needs a character that is not whitespace (DRF trims
# before it checks blankness). Lone surrogates, which DRF refuses too, cannot be said in a portable regex.
_ANY_TEXT = "[^\\x00]"
TEXT_PATTERN = f"^{_ANY_TEXT}*$"
# Python's str.strip() also takes \x1c-\x1f and \x85 for whitespace, which ECMA's \s does not.
NON_BLANK_TEXT_PATTERN = f"^{_ANY_TEXT}*[^\\x00\\s\\x1c-\\x1f\\x85]{_ANY_TEXT}*$"
NON_EMPTY_TEXT_PATTERN = f"^{_ANY_TEXT}+$"


def _blank_branch_exclusive(schema: dict) -> None:
    """A blank-allowed field is `oneOf` [text, ""]: "" must match only the second branch."""
    for branch in schema.get("oneOf", []):
        if branch.get("pattern") == TEXT_PATTERN:
            branch["pattern"] = NON_EMPTY_TEXT_PATTERN


def _model_field_blank(field: serializers.Field) -> bool:
    """A read-only ModelSerializer field loses `allow_blank`; the model field still knows."""
    if not isinstance(field.parent, serializers.ModelSerializer):
        return False
    try:
        return field.parent.Meta.model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False


def request_value_constraints(field: serializers.Field, schema: dict) -> dict:
    """What DRF's field checks beyond the JSON type, stated in the request schema (its own regex first)."""
    if isinstance(field, serializers.CharField) and schema.get("type") == "string" and "pattern" not in schema:
        own = [v.regex.pattern for v in field.validators if isinstance(v, RegexValidator)]
        return {"pattern": own[0] if own else NON_BLANK_TEXT_PATTERN if not field.allow_blank else TEXT_PATTERN}
    if isinstance(field, serializers.JSONField) and "type" not in schema and not field.allow_null:
        return {"anyOf": [{"type": kind} for kind in ("object", "array", "string", "number", "boolean")]}  # not null
    return {}


class MerchantAutoSchema(AutoSchema):
    """Adds the error answers every merchant-scoped operation can give, so no client meets an undocumented one.

    Operation-specific refusals (409, 422) are declared by the operation with `error_responses(...)`.
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request":
            schema.update(request_value_constraints(field, schema))
        elif schema.get("format") in ("email", "uri") and _model_field_blank(field):
            schema["anyOf"] = [{"format": schema.pop("format")}, {"maxLength": 0}]  # stored blank reads as ""
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        _blank_branch_exclusive(schema)
        if any("format" in branch for branch in schema.get("anyOf", [])):
            schema.pop("format", None)  # the e-mail/URL validator's format stays in its branch, not over ""

    def _process_override_parameters(self, direction="request"):
        parameters = super()._process_override_parameters(direction)
        for parameter in filter(None, parameters.values()):  # None: a parameter excluded by an override
            schema = parameter.get("schema", {})
            if parameter["in"] == "query" and schema.get("type") == "string" and not {"enum", "pattern"} & set(schema):
                schema["pattern"] = TEXT_PATTERN
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter["in"] == "query" and schema.get("type") == "integer":
                # Query integers are ids and counts, read as ASCII digits (apps.core.inputs.ascii_int).
                schema.setdefault("minimum", 0)
                schema.setdefault("maximum", inputs.BIGINT_MAX)
        for status in self._error_statuses(operation):
            response = error_responses(status)[status]
            operation["responses"].setdefault(str(status), self._get_response_for_code(response, str(status)))
        return operation

    def _error_statuses(self, operation: dict) -> list[int]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        statuses = [401, 403]
        # Any text the caller sends (path included) is checked at the edge (apps.core.inputs): NUL or a
        # control character in a path segment is a 400 naming `path`, before routing.
        if has_body or any(p["in"] in ("query", "path") for p in parameters):
            statuses.append(400)
        if any(p["in"] == "path" for p in parameters) or self._is_paginated():
            statuses.append(404)
        if has_body:
            statuses.append(415)
        if self.view.get_throttles():
            statuses.append(429)
        return statuses

    def _is_paginated(self) -> bool:
        return self.method == "GET" and self._get_paginator() is not None and self._is_list_view()
