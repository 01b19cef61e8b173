"""Formula-safe cells and a guarded way to open an uploaded workbook."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

# A cell starting with one of these may be run as a formula by a spreadsheet (OWASP CSV
# injection). We prefix such text with an apostrophe, and strip it again on import. A line
# feed is included because XML turns a carriage return into one.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
QUOTE = "'"
MAX_ZIP_ENTRIES = 1000


def escape_cell(value: Any) -> Any:
    """Text that no spreadsheet will evaluate; other values unchanged."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_TRIGGERS) or value.startswith(QUOTE):
        return QUOTE + value
    return value


def unescape_cell(value: str) -> str:
    """Undo `escape_cell`, so an export re-imports to exactly the same text."""
    if len(value) > 1 and value[0] == QUOTE and value[1] in (*FORMULA_TRIGGERS, QUOTE):
        return value[1:]
    return value


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_uncompressed_bytes: int
    max_rows: int


def open_workbook(data: bytes, limits: UploadLimits) -> openpyxl.Workbook:
    """A read-only workbook, after checking size, type and the zip's uncompressed size.

    openpyxl parses XML with defusedxml (installed with us), so entity tricks are refused.
    """
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"the file is larger than {limits.max_bytes // 1024} KiB")
    if not data.startswith(b"PK\x03\x04"):
        raise UnsupportedMediaType("not an .xlsx file (an Excel 2007+ workbook)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except zipfile.BadZipFile:
        raise UnsupportedMediaType("not an .xlsx file (an Excel 2007+ workbook)") from None
    # Check what the file would expand to before parsing anything (zip bombs).
    if len(entries) > MAX_ZIP_ENTRIES:
        raise InvalidInput(f"the workbook has more than {MAX_ZIP_ENTRIES} parts")
    if sum(entry.file_size for entry in entries) > limits.max_uncompressed_bytes:
        mib = limits.max_uncompressed_bytes // (1024 * 1024)
        raise PayloadTooLarge(f"the workbook expands to more than {mib} MiB")
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise UnsupportedMediaType("not an .xlsx file (an Excel 2007+ workbook)")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds; all mean "unreadable"
        raise InvalidInput(f"the workbook could not be read: {exc.__class__.__name__}") from None


def sheet_rows(sheet: Any, max_rows: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) for each row, refusing sheets with more than `max_rows` rows
    of content (after the header) without reading them all."""
    filled = 0
    rows = enumerate(sheet.iter_rows(values_only=True), start=1)
    while True:
        try:  # read-only sheets parse lazily: bad XML (entity tricks too) surfaces here
            number, values = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise InvalidInput(f"the sheet could not be read: {exc.__class__.__name__}") from None
        if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values):
            filled += 1
            if filled > max_rows + 1:  # +1 for the header row
                raise PayloadTooLarge(f"the sheet has more than {max_rows} rows")
        yield number, values
