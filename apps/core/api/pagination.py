import re

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from apps.core.keyset import CursorInvalid, cursor_decode, cursor_encode, keyset_after

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: int() would also take "١٢" or " 12"
OLDER, NEWER = "o", "n"
BAD_CURSOR = "This cursor is not one of ours: pass back the `next` or `previous` link of an answer unchanged."


class KeysetPagination(BasePagination):
    """Keyset (seek) pagination: the page after a row is `WHERE (ordering) < (that row's values)`, so any page
    costs what the first one does. `ordering` is all descending and its last field is unique (the id).

    The cursor is opaque (base64 of the direction and the boundary row's values); one that is not ours is a
    400 naming `cursor`. `page_size` is validated, not clamped: a size that is not an integer from 1 to
    `max_page_size` is a 400 naming the field, as the schema documents it.
    """

    ordering: tuple[str, ...] = ("-id",)
    # Fields the queryset holds one value of (filtered with keyset.one_parent): first in the ORDER BY, so the
    # parent's `(field, -id)` index gives the order and PostgreSQL never walks the primary key instead.
    scope: tuple[str, ...] = ()
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_param = "cursor"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field.lstrip("-") for field in self.ordering)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Give an integer from 1 to {self.max_page_size}."]})
        return int(raw)

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.base_url = request.build_absolute_uri()
        size = self.get_page_size(request)
        direction, position = self.decode_cursor(request.query_params.get(self.cursor_query_param), queryset.model)
        older = direction == OLDER
        if position is not None:
            queryset = queryset.filter(keyset_after(self.fields, position, descending=older))
        order = (*self.scope, *self.ordering) if older else (*(f"-{f}" for f in self.scope), *self.fields)
        rows = list(queryset.order_by(*order)[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        if not older:
            rows.reverse()
        self.page = rows
        self.has_next = more if older else position is not None
        self.has_previous = position is not None if older else more
        return rows

    def decode_cursor(self, cursor: str | None, model) -> tuple[str, list | None]:
        if not cursor:  # `?cursor=` is a client that had no link to pass: the first page, as an absent one
            return OLDER, None
        try:
            return cursor_decode(cursor=cursor, model=model, fields=self.fields, tags=(OLDER, NEWER))
        except CursorInvalid:
            raise ValidationError({self.cursor_query_param: [BAD_CURSOR]}) from None

    def _link(self, direction: str, row) -> str:
        cursor = cursor_encode(row=row, fields=self.fields, tag=direction)
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._link(OLDER, self.page[-1]) if self.has_next and self.page else None

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:  # walked back past the newest row: the first page
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(NEWER, self.page[0])

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of the page, taken from `next` or `previous` of the last answer "
                "(anything else is a 400 naming `cursor`).",
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
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],  # always present; null at either end
            "properties": {"next": link, "previous": link, "results": schema},
        }


class IdCursorPagination(KeysetPagination):
    """Newest first on the primary key, the default of every list."""

    ordering = ("-id",)
