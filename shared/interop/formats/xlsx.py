"""The .xlsx question sheet as a format of the registry (the reader and writer live in
shared.spreadsheets.questions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.interop.formats.common import ReadResult
from shared.spreadsheets import questions as sheet
from shared.spreadsheets.safety import UploadLimits, open_workbook, sheet_rows


def read(data: bytes, limits: UploadLimits) -> ReadResult:
    """Definitions from the workbook's question sheet (or its first sheet)."""
    workbook = open_workbook(data, limits)
    try:
        names = workbook.sheetnames
        worksheet = (
            workbook[sheet.SHEET_NAME] if sheet.SHEET_NAME in names else workbook.worksheets[0]
        )
        parsed = sheet.parse_questions(sheet_rows(worksheet, limits.max_rows))
    finally:
        workbook.close()
    return ReadResult(parsed.definitions, parsed.errors)


def write(definitions: Iterable[dict[str, Any]]) -> bytes:
    """The workbook the .xlsx export has always been."""
    return sheet.write_questions(definitions)
