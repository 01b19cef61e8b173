"""Formula-safe cells and a guarded way to open an uploaded workbook."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

# A cell starting with one of these may be run as a formula by a spreadsheet (OWASP CSV
# injection), and so may their full-width forms (＝ ＋ － ＠: an East Asian input method types
# those, and spreadsheets read them as the ASCII ones) and small forms (﹦ ﹢ ﹣ ﹫). A line feed
# is included because XML turns a carriage return into one.
FORMULA_STARTS = "=+-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b"
FORMULA_TRIGGERS = (*FORMULA_STARTS, "\t", "\r", "\n")
QUOTE = "'"
# A spreadsheet that guesses the delimiter of a CSV file may split a field at any of these
# (or at a line break): what follows one starts a cell of its own.
CSV_DELIMITERS = ",;\t|\r\n"
_AFTER_A_DELIMITER = re.compile(
    f"([{re.escape(CSV_DELIMITERS)}]\\s*)([{re.escape(FORMULA_STARTS)}])"
)
MAX_ZIP_ENTRIES = 1000


def _needs_quote(text: str) -> bool:
    """Whether a spreadsheet could read text as a formula: it starts with a trigger, or
    with white space and then one (some spreadsheets trim cells), or with our own quote
    (so that the escape is reversible)."""
    return text.startswith((*FORMULA_TRIGGERS, QUOTE)) or text.lstrip().startswith(FORMULA_TRIGGERS)


def escape_cell(value: Any) -> Any:
    """Text that no spreadsheet will evaluate: an apostrophe in front of what could start a
    formula; other values unchanged."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return QUOTE + value if _needs_quote(value) else value


def unescape_cell(value: str) -> str:
    """Undo `escape_cell`, so an export re-imports to exactly the same text."""
    if value.startswith(QUOTE) and _needs_quote(value[1:]):
        return value[1:]
    return value


def escape_csv_field(value: Any) -> Any:
    """`escape_cell`, and inside the text an apostrophe before a formula character that
    follows a delimiter: whichever delimiter a spreadsheet guesses (`a;=cmd` is two cells
    to one that splits at `;`), no piece of a field starts a formula. Not reversible: the
    CSV export is for reading, the .xlsx one for round trips."""
    value = escape_cell(value)
    if not isinstance(value, str):
        return value
    return _AFTER_A_DELIMITER.sub(lambda m: m.group(1) + QUOTE + m.group(2), value)


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
    except (zipfile.BadZipFile, NotImplementedError, ValueError):  # corrupt or unknown zip
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
