"""Reading a roster of students from .xlsx or .csv, as a school's student information
system exports it: a header row (any order, any case), UTF-8 with or without a BOM, `;` or
`,` (or tab) between fields. Pure: bytes in, rows and row errors out."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openpyxl

from shared.errors import PayloadTooLarge, UnsupportedMediaType
from shared.spreadsheets.questions import CellError
from shared.spreadsheets.safety import UploadLimits, open_workbook, sheet_rows

COLUMNS = ("email", "full_name", "role", "groups", "password")
REQUIRED_COLUMNS = ("email", "full_name")
# What other systems call our columns (the header is matched after lower-casing).
ALIASES = {"name": "full_name", "full name": "full_name", "e-mail": "email", "group": "groups"}
CSV_DELIMITERS = ";,\t"


@dataclass
class StudentRow:
    row: int
    cells: dict[str, Any]


@dataclass
class ParsedRoster:
    rows: list[StudentRow] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)


def read_roster(filename: str, data: bytes, limits: UploadLimits) -> ParsedRoster:
    """The file's rows by column name; a .csv by its name, anything else must be .xlsx."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"the file is larger than {limits.max_bytes // 1024} KiB")
    if filename.lower().endswith((".csv", ".txt")):
        return _parse(_csv_rows(data, limits.max_rows))
    workbook = open_workbook(data, limits)
    try:
        return _parse(sheet_rows(workbook.worksheets[0], limits.max_rows))
    finally:
        workbook.close()


def _csv_rows(data: bytes, max_rows: int) -> Iterator[tuple[int, Sequence[Any]]]:
    if b"\x00" in data[:4096] or data.startswith(b"PK\x03\x04"):
        raise UnsupportedMediaType("not a .csv text file (is it an .xlsx? name it so)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedMediaType(
            'the .csv is not UTF-8: save it as "CSV UTF-8" and try again'
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    filled = 0
    try:
        for number, values in enumerate(reader, start=1):
            if any(v.strip() for v in values):
                filled += 1
                if filled > max_rows + 1:  # +1 for the header row
                    raise PayloadTooLarge(f"the file has more than {max_rows} rows")
            yield number, [v if v.strip() else None for v in values]
    except csv.Error as exc:
        raise UnsupportedMediaType(f"the .csv could not be read: {exc}") from None


def _parse(rows: Iterator[tuple[int, Sequence[Any]]]) -> ParsedRoster:
    result = ParsedRoster()
    header: dict[str, int] | None = None
    for number, values in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if header is None:
            header = _read_header(number, values, result.errors)
            if result.errors:
                return result
            continue
        cells = {name: values[i] if i < len(values) else None for name, i in header.items()}
        result.rows.append(StudentRow(number, cells))
    if header is None:
        result.errors.append(CellError(None, None, "the file is empty: no header row"))
    elif not result.rows:
        result.errors.append(CellError(None, None, "the file has a header but no students"))
    return result


def _read_header(number: int, values: Sequence[Any], errors: list[CellError]) -> dict[str, int]:
    header: dict[str, int] = {}
    for index, value in enumerate(values):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        name = " ".join(str(value).strip().lower().split())
        name = ALIASES.get(name, name.replace(" ", "_"))
        if name not in COLUMNS:
            errors.append(CellError(number, str(value)[:100], "unknown column"))
        elif name in header:
            errors.append(CellError(number, name, "column appears twice"))
        else:
            header[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in header:
            errors.append(CellError(number, name, "required column is missing"))
    return header


def write_template() -> bytes:
    """An .xlsx with the header row and two example students."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Students"
    sheet.append(list(COLUMNS))
    sheet.append(["ada@school.example", "Ada Lovelace", "student", "Class 7A; Maths set 1", None])
    sheet.append(["alan@school.example", "Alan Turing", "student", "Class 7B", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
