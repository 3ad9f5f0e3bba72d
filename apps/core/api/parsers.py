"""The API's JSON parser: the edge bounds (apps.core.inputs) instead of a bare json.loads."""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers

from apps.core import inputs


class BoundedJSONParser(parsers.JSONParser):
    """Too large, too deep or malformed is a parse error. Text that cannot be stored is refused by the
    input serializers, field by field (`JsonTypedMixin`): a property the API ignores refuses nothing."""

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the bound is enough to refuse it; the rest is never read into memory.
        raw = stream.read(settings.INPUT_JSON_MAX_BYTES + 1) if stream is not None else b""
        try:
            return inputs.json_loads(raw, check_strings=False)
        except inputs.InputError as exc:
            raise exceptions.ParseError(exc.message) from exc
