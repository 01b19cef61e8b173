"""Cells a spreadsheet could run as a formula are neutralised, and the escape reverses."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from shared.spreadsheets.results import to_csv, to_xlsx
from shared.spreadsheets.safety import escape_cell, unescape_cell

TRIGGERS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1", "'=quoted", "'plain"]


@pytest.mark.parametrize("text", TRIGGERS)
def test_escaped_text_never_starts_a_formula_and_round_trips(text):
    escaped = escape_cell(text)
    assert escaped.startswith("'")
    assert unescape_cell(escaped) == text


@pytest.mark.parametrize("value", ["plain", "a=b", 42, -3.5, None, True])
def test_harmless_values_are_untouched(value):
    assert escape_cell(value) == value


def test_both_writers_neutralise_every_trigger():
    rows = [["header"], *([text] for text in TRIGGERS), [-5]]
    written = list(csv.reader(io.StringIO(to_csv(iter(rows)))))
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        for row in written[1:-1]
        for cell in row
    )
    assert written[-1] == ["-5"]  # a number is a number, not a formula
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(iter(rows)))).active
    cells = [row[0] for row in sheet.iter_rows()][1:]
    assert all(cell.data_type != "f" for cell in cells)
    # XML itself turns a CR into a LF; the leading apostrophe is what matters.
    assert [c.value for c in cells[:-1]] == [escape_cell(t).replace("\r", "\n") for t in TRIGGERS]
    assert cells[-1].value == -5
