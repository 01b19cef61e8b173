"""The question spreadsheet: its columns, reading rows into definitions (with cell-precise
errors), and writing the export and the template."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from shared.errors import InvalidInput
from shared.question_types import (
    ESSAY,
    MULTIPLE_CHOICE,
    NUMBER_MESSAGE,
    NUMERIC,
    SHORT_TEXT,
    SINGLE_CHOICE,
    TRUE_FALSE,
    json_number,
    normalize_definition,
    to_decimal,
)
from shared.spreadsheets.safety import escape_cell, unescape_cell

LETTERS = "abcdefghij"
OPTION_COLUMNS = tuple(f"option_{letter}" for letter in LETTERS)
COLUMNS = (
    "type",
    "prompt",
    *OPTION_COLUMNS,
    "correct_answer",
    "points",
    "scoring",
    "tolerance",
    "case_sensitive",
    "tags",
    "explanation",
)
REQUIRED_COLUMNS = ("type", "prompt")
SHEET_NAME = "Questions"


@dataclass(frozen=True)
class CellError:
    row: int | None
    column: str | None
    message: str


@dataclass
class ParsedSheet:
    definitions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)


def parse_questions(rows: Iterable[tuple[int, Sequence[Any]]]) -> ParsedSheet:
    """Definitions from (row number, values) pairs; the first non-blank row is the header."""
    result = ParsedSheet()
    header: dict[str, int] | None = None
    for number, values in rows:
        if _blank(values):
            continue
        if header is None:
            header = _read_header(number, values, result.errors)
            if result.errors:
                return result
            continue
        cells = {name: values[i] if i < len(values) else None for name, i in header.items()}
        definition = _parse_row(number, cells, result.errors)
        if definition is not None:
            result.definitions.append(definition)
    if header is None:
        result.errors.append(CellError(None, None, "the sheet is empty: no header row"))
    elif not result.definitions and not result.errors:
        result.errors.append(CellError(None, None, "the sheet has a header but no questions"))
    return result


def _blank(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _read_header(number: int, values: Sequence[Any], errors: list[CellError]) -> dict[str, int]:
    header: dict[str, int] = {}
    for index, value in enumerate(values):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        name = str(value).strip().lower().replace(" ", "_")
        if name not in COLUMNS:
            errors.append(CellError(number, str(value), "unknown column"))
        elif name in header:
            errors.append(CellError(number, name, "column appears twice"))
        else:
            header[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in header:
            errors.append(CellError(number, name, "required column is missing"))
    return header


def _parse_row(
    number: int, cells: dict[str, Any], errors: list[CellError]
) -> dict[str, Any] | None:
    problems: list[CellError] = []

    def fail(column: str, message: str) -> None:
        problems.append(CellError(number, column, message))

    qtype = (_text(cells.get("type")) or "").lower().replace(" ", "_")
    data: dict[str, Any] = {
        "type": qtype,
        "prompt": _text(cells.get("prompt")),
        "options": _options(cells, fail),
        "correct_answer": _key(qtype, cells.get("correct_answer"), fail),
        "scoring": (_text(cells.get("scoring")) or "").lower() or None,
        "tags": [t.strip() for t in (_text(cells.get("tags")) or "").split(",") if t.strip()],
        "explanation": _text(cells.get("explanation")),
    }
    for column in ("points", "tolerance"):
        if _text(cells.get(column)) is not None:
            data[column] = _number(cells[column], column, fail)
    if _text(cells.get("case_sensitive")) is not None:
        data["case_sensitive"] = _boolean(cells["case_sensitive"], "case_sensitive", fail)
    if not problems:
        try:
            return normalize_definition(data)
        except InvalidInput as exc:
            for name, messages in exc.errors.items():
                column = "option_a" if name == "options" else name
                problems.extend(CellError(number, column, m) for m in messages)
    errors.extend(problems)
    return None


def _text(value: Any) -> str | None:
    """A cell as text (numbers and booleans as written), None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        number = to_decimal(value)  # None for inf, NaN or a huge one: shown as it is
        return str(json_number(number)) if number is not None else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = unescape_cell(str(value).strip())
    return text or None


def _options(cells: dict[str, Any], fail: Any) -> list[dict[str, str]] | None:
    texts = [_text(cells.get(column)) for column in OPTION_COLUMNS]
    last = max((i for i, t in enumerate(texts) if t is not None), default=-1)
    for i in range(last):
        if texts[i] is None:
            fail(OPTION_COLUMNS[i], f"is empty but {OPTION_COLUMNS[last]} is filled")
    if last < 0:
        return None
    return [{"id": LETTERS[i].upper(), "text": t or ""} for i, t in enumerate(texts[: last + 1])]


def _key(qtype: str, cell: Any, fail: Any) -> Any:
    text = _text(cell)
    if text is None:
        return None
    if qtype == SINGLE_CHOICE:
        return text.upper()
    if qtype == MULTIPLE_CHOICE:
        return [part.strip().upper() for part in text.split(",") if part.strip()]
    if qtype == TRUE_FALSE:
        return _boolean(cell, "correct_answer", fail)
    if qtype == SHORT_TEXT:
        return [part.strip() for part in text.split("|") if part.strip()]
    if qtype == NUMERIC:
        return _number(cell, "correct_answer", fail)
    return text  # essay: normalize_definition reports that essays have no key


def _number(cell: Any, column: str, fail: Any) -> Decimal | None:
    number = to_decimal(cell if not isinstance(cell, str) else cell.strip())
    if number is None:
        fail(column, NUMBER_MESSAGE)
    return number


def _boolean(cell: Any, column: str, fail: Any) -> bool | None:
    if isinstance(cell, bool):
        return cell
    text = (_text(cell) or "").upper()
    if text in ("TRUE", "FALSE"):
        return text == "TRUE"
    fail(column, "must be TRUE or FALSE")
    return None


# -- writing ----------------------------------------------------------------------------


def question_row(definition: dict[str, Any]) -> list[Any]:
    """One spreadsheet row for a question definition (the inverse of `_parse_row`)."""
    options = definition.get("options") or []
    letter = {o["id"]: LETTERS[i].upper() for i, o in enumerate(options)}
    key = definition.get("correct_answer")
    qtype = definition["type"]
    if qtype == SINGLE_CHOICE:
        key = letter.get(key, key)
    elif qtype == MULTIPLE_CHOICE:
        key = ",".join(letter.get(k, k) for k in key)
    elif qtype == TRUE_FALSE:
        key = "TRUE" if key else "FALSE"
    elif qtype == SHORT_TEXT:
        key = "|".join(key)
    cells: dict[str, Any] = {
        "type": qtype,
        "prompt": definition["prompt"],
        "correct_answer": key,
        "points": _cell_number(definition.get("points")),
        "scoring": definition.get("scoring"),
        "tolerance": _cell_number(definition.get("tolerance")) if qtype == NUMERIC else None,
        "case_sensitive": "TRUE" if definition.get("case_sensitive") else None,
        "tags": ", ".join(definition.get("tags") or []) or None,
        "explanation": definition.get("explanation"),
    }
    for column, option in zip(OPTION_COLUMNS, options, strict=False):
        cells[column] = option["text"]
    return [escape_cell(cells.get(column)) for column in COLUMNS]


def _cell_number(value: Any) -> int | float | None:
    return None if value is None else json_number(Decimal(value))


def write_questions(definitions: Iterable[dict[str, Any]]) -> bytes:
    """An .xlsx with the header row and one row per question (re-importable as is)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_NAME)
    sheet.append(list(COLUMNS))
    for definition in definitions:
        sheet.append(question_row(definition))
    return _save(workbook)


TEMPLATE_EXAMPLES: tuple[dict[str, Any], ...] = (
    {
        "type": SINGLE_CHOICE,
        "prompt": "What is the capital of France?",
        "options": [{"id": "A", "text": "Lyon"}, {"id": "B", "text": "Paris"}],
        "correct_answer": "B",
        "points": 1,
        "tags": ["geography"],
        "explanation": "Paris has been the capital since 987.",
    },
    {
        "type": MULTIPLE_CHOICE,
        "prompt": "Which of these are prime numbers?",
        "options": [
            {"id": "A", "text": "2"},
            {"id": "B", "text": "4"},
            {"id": "C", "text": "7"},
        ],
        "correct_answer": ["A", "C"],
        "points": 2,
        "scoring": "partial",
        "tags": ["maths"],
    },
    {"type": TRUE_FALSE, "prompt": "Water boils at 100 °C at sea level.", "correct_answer": True},
    {
        "type": SHORT_TEXT,
        "prompt": "Name the largest planet of the solar system.",
        "correct_answer": ["Jupiter", "planet Jupiter"],
        "tags": ["astronomy"],
    },
    {
        "type": NUMERIC,
        "prompt": "What is 22 divided by 7, to two decimals?",
        "correct_answer": Decimal("3.14"),
        "tolerance": Decimal("0.01"),
        "points": 1.5,
    },
    {"type": ESSAY, "prompt": "Explain photosynthesis in your own words.", "points": 5},
)

COLUMN_HELP = (
    ("type", "yes", "single_choice, multiple_choice, true_false, short_text, numeric or essay"),
    ("prompt", "yes", "The question text"),
    ("option_a … option_j", "choice types", "2 to 10 options, left to right without gaps"),
    (
        "correct_answer",
        "all but essay",
        "B (single), A,C (multiple), TRUE/FALSE, paris|Paris city (short text, | between "
        "accepted answers), 42 (numeric)",
    ),
    ("points", "no", "Greater than 0, at most 2 decimals; default 1"),
    ("scoring", "no", "multiple_choice only: all_or_nothing (default) or partial"),
    ("tolerance", "no", "numeric only: accepted absolute difference, default 0"),
    ("case_sensitive", "no", "short_text only: TRUE to compare case; default FALSE"),
    ("tags", "no", "Comma-separated"),
    ("explanation", "no", "Shown to students with the correct answers, after release"),
)


def write_template() -> bytes:
    """The import template: the header, one example per type, and a sheet of column help."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for example in TEMPLATE_EXAMPLES:
        sheet.append(question_row(normalize_definition(example)))
    help_sheet = workbook.create_sheet("Columns")
    help_sheet.append(["column", "required", "meaning"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    for row in COLUMN_HELP:
        help_sheet.append([escape_cell(value) for value in row])
    help_sheet.append([])
    help_sheet.append(["Headers may be in any order and any case; blank rows are skipped."])
    return _save(workbook)


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
