"""CSV that people open in a spreadsheet: every text cell a spreadsheet would evaluate is defused.

Names, user agents and wordings come from visitors; a cell like `=HYPERLINK(...)` would run as a formula
on the auditor's machine. A leading apostrophe makes the spreadsheet show the text as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like that hands each written line back, so a csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should show it: text starting like a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # ISO-8601 with its offset (str() would put a space for the "T"), whatever zone the page showed.
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def cell_read(text: str) -> str:
    """A cell of a file we wrote (or a spreadsheet saved) as its value: `safe_cell`'s apostrophe removed, so
    an exported phone (`'+34…`) or name imports as it was. Only before a formula start; other text is kept."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header and each row as CSV lines, every cell through safe_cell (constant memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_response(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    """A download streamed line by line (constant memory), named `filename`: every CSV export answers this way."""
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
