"""Spreadsheet import and export of the question bank (all or nothing)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.config import Settings
from shared.services import questions
from shared.spreadsheets import questions as sheet
from shared.spreadsheets.safety import UploadLimits, open_workbook, sheet_rows


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    question_ids: list[uuid.UUID]
    errors: list[sheet.CellError]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors


def limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        max_bytes=settings.IMPORT_MAX_BYTES,
        max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
        max_rows=settings.IMPORT_MAX_ROWS,
    )


def import_questions(
    session: Session, settings: Settings, data: bytes, *, dry_run: bool
) -> ImportOutcome:
    """Create every question of the workbook, or none if any cell is wrong."""
    upload_limits = limits(settings)
    workbook = open_workbook(data, upload_limits)
    try:
        names = workbook.sheetnames
        worksheet = (
            workbook[sheet.SHEET_NAME] if sheet.SHEET_NAME in names else workbook.worksheets[0]
        )
        parsed = sheet.parse_questions(sheet_rows(worksheet, upload_limits.max_rows))
    finally:
        workbook.close()
    if parsed.errors:
        return ImportOutcome(0, [], parsed.errors, dry_run)
    if dry_run:
        return ImportOutcome(len(parsed.definitions), [], [], dry_run)
    ids = questions.create_questions(session, parsed.definitions)
    return ImportOutcome(len(ids), ids, [], dry_run)


def export_questions(
    session: Session, *, type: str | None = None, tag: str | None = None, q: str | None = None
) -> bytes:
    """The matching questions as a workbook that imports back into the same bank."""
    found, _ = questions.search_questions(session, type=type, tag=tag, q=q, limit=None)
    # Oldest first, so a re-import creates them in the order they were written.
    return sheet.write_questions(questions.definition_of(question) for question in reversed(found))
