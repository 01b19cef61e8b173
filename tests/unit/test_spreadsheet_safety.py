"""Cells a spreadsheet could run as a formula are neutralised, and the escape reverses."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from shared.question_types import normalize_definition
from shared.spreadsheets.questions import parse_questions, write_questions
from shared.spreadsheets.results import to_csv, to_xlsx
from shared.spreadsheets.safety import (
    UploadLimits,
    escape_cell,
    open_workbook,
    sheet_rows,
    unescape_cell,
)

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


# Full-width and small forms (an East Asian input method types them; spreadsheets read them
# as = + - @), and triggers behind leading white space (some spreadsheets trim cells).
WIDE_AND_HIDDEN = ["\uff1d1+1", "\uff0b1", "\uff0dA1", "\uff20SUM(A1)", "\ufe66cmd", "\ufe62",
                   "\ufe63", "\ufe6b", " =1+1", "\u00a0+1", "\u3000\uff1dcmd", "  @x"]  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66",
                  "\ufe62", "\ufe63", "\ufe6b")  # fmt: skip


@pytest.mark.parametrize("text", WIDE_AND_HIDDEN)
def test_full_width_and_space_led_triggers_are_escaped_and_round_trip(text):
    escaped = escape_cell(text)
    assert escaped == "'" + text
    assert unescape_cell(escaped) == text


@pytest.mark.parametrize("text", ["a=b", "x\uff1dy", "plain ＋ text", "e-mail", "5-3"])
def test_triggers_inside_text_are_left_alone_in_xlsx(text):
    assert escape_cell(text) == text


# Fields that a spreadsheet guessing another delimiter would split into a formula cell.
SPLITTABLE = ["a;=1+1", "b\t=cmd|' /C calc'!A0", "c|@SUM(A1)", "Smith, -2+3", "d\n=1",
              "e;\uff1d1", "f; =1", "g;\t+1"]  # fmt: skip


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_no_csv_cell_starts_a_formula_whatever_the_delimiter(delimiter):
    rows = [["name", "note"], *(["Ann", text] for text in SPLITTABLE + WIDE_AND_HIDDEN + TRIGGERS)]
    text = to_csv(iter(rows))
    cells = [
        c for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for c in row
    ]
    # Also read the way a spreadsheet that ignores quotes would.
    cells += [c for line in text.splitlines() for c in line.split(delimiter)]
    starts = [c for c in cells if c.lstrip().lstrip('"').lstrip().startswith(FORMULA_STARTS)]
    assert starts == []


def test_csv_read_with_its_own_delimiter_keeps_each_field_whole():
    rows = [["note"], ["Smith, Ann"], ["a;=1+1"]]
    assert list(csv.reader(io.StringIO(to_csv(iter(rows))))) == [
        ["note"], ["Smith, Ann"], ["a;'=1+1"]
    ]  # fmt: skip


def test_the_question_export_re_imports_hostile_text_unchanged():
    definitions = [
        normalize_definition(
            {"type": "short_text", "prompt": prompt, "correct_answer": [prompt, "-1"],
             "explanation": explanation, "tags": ["@tag"]}  # fmt: skip
        )
        for prompt, explanation in [("\uff1d1+1", " =1"), ("'quoted", "\uff20x"),
                                    ("a;=1", "\u3000\uff0bcmd"), ("=HYPERLINK(x)", "'")]
    ]  # fmt: skip
    data = write_questions(definitions)
    limits = UploadLimits(max_bytes=10**7, max_uncompressed_bytes=10**8, max_rows=100)
    sheet = open_workbook(data, limits).active
    formulas = [c for row in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows()
                for c in row if c.data_type == "f"]  # fmt: skip
    assert formulas == []
    parsed = parse_questions(sheet_rows(sheet, limits.max_rows))
    assert parsed.errors == [] and parsed.definitions == definitions
