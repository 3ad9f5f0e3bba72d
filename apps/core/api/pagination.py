import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: int() would also take "١٢" or " 12"


class IdCursorPagination(CursorPagination):
    """Keyset pagination on the primary key: constant cost on any page.

    `page_size` is validated, not clamped: a size that is not an integer from 1 to `max_page_size`
    is a 400 naming the field, as the schema documents it.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Give an integer from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of the page, taken from `next` or `previous` of the last answer.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
            },
        ]

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["next", "previous", "results"]  # always present; null at either end
        return paginated
