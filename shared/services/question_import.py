"""Import and export of the question bank in every registered format (all or nothing)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from shared.config import Settings
from shared.interop.formats.registry import Format, format_for, get_format
from shared.services import questions
from shared.spreadsheets import questions as sheet
from shared.spreadsheets.questions import CellError
from shared.spreadsheets.safety import UploadLimits


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    question_ids: list[uuid.UUID]
    errors: list[CellError]
    dry_run: bool
    format: str = "xlsx"
    warnings: list[CellError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the file had no errors (and so was, or would be, created)."""
        return not self.errors


def limits(settings: Settings) -> UploadLimits:
    """The import limits of the settings (size, expanded size, questions)."""
    return UploadLimits(
        max_bytes=settings.IMPORT_MAX_BYTES,
        max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
        max_rows=settings.IMPORT_MAX_ROWS,
    )


def import_questions(
    session: Session,
    settings: Settings,
    data: bytes,
    *,
    dry_run: bool,
    format: str | None = None,
    filename: str | None = None,
) -> ImportOutcome:
    """Create every question of the file, or none if any item is wrong; the format is the
    one asked for, else the file name's (an .xlsx when neither says)."""
    chosen = format_for(format, filename)
    parsed = chosen.read(data, limits(settings))
    if parsed.errors:
        return ImportOutcome(0, [], parsed.errors, dry_run, chosen.name, parsed.warnings)
    if dry_run:
        return ImportOutcome(len(parsed.definitions), [], [], True, chosen.name, parsed.warnings)
    ids = questions.create_questions(session, parsed.definitions)
    return ImportOutcome(len(ids), ids, [], False, chosen.name, parsed.warnings)


def export_questions(
    session: Session,
    *,
    format: str = "xlsx",
    type: str | None = None,
    tag: str | None = None,
    q: str | None = None,
) -> tuple[bytes, Format]:
    """The matching questions as a file of that format, which imports back into the bank."""
    chosen = get_format(format)
    found, _ = questions.search_questions(session, type=type, tag=tag, q=q, limit=None)
    # Oldest first, so a re-import creates them in the order they were written.
    definitions = [questions.definition_of(question) for question in reversed(found)]
    return chosen.write(definitions), chosen


__all__ = ["ImportOutcome", "export_questions", "import_questions", "limits", "sheet"]
