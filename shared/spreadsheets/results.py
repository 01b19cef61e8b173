"""An exam's results as a table: one row per attempt, one column per question."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Answer, Exam, ExamQuestion
from shared.question_types import json_number
from shared.services.results import percentage, roster
from shared.spreadsheets.safety import escape_cell, escape_csv_field

FIXED = (
    "attempt_id", "student_email", "student_name", "attempt_number", "status", "submit_reason",
    "started_at", "submitted_at", "graded_at", "score", "max_score", "percentage", "pending_manual",
)  # fmt: skip


def result_rows(session: Session, exam: Exam) -> Iterator[list[Any]]:
    """The header, then a row per attempt; a question's cell is its points (blank: pending)."""
    items = list(
        session.scalars(
            select(ExamQuestion)
            .where(ExamQuestion.exam_id == exam.id)
            .order_by(ExamQuestion.position)
        )
    )
    yield [*FIXED, *(f"Q{i.position} ({json_number(i.effective_points)} pts)" for i in items)]
    attempts, _ = roster(session, exam.id, limit=None)
    points = _points_by_attempt(session, [a.id for a, _ in attempts])
    for attempt, student in attempts:
        mine = points.get(attempt.id, {})
        yield [
            str(attempt.id), student.email, student.full_name, attempt.attempt_number,
            attempt.status, attempt.submit_reason, _time(attempt.started_at),
            _time(attempt.submitted_at), _time(attempt.graded_at), _num(attempt.score),
            _num(attempt.max_score), _num(percentage(attempt.score, attempt.max_score))
            if attempt.score is not None else None, attempt.pending_manual,
            *(_num(mine.get(item.question_id)) for item in items),
        ]  # fmt: skip


def _points_by_attempt(
    session: Session, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, Any]]:
    found: dict[uuid.UUID, dict[uuid.UUID, Any]] = {}
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(Answer.attempt_id, Answer.question_id, Answer.points_awarded).where(
                Answer.attempt_id.in_(ids[start : start + 1000])
            )
        )
        for attempt_id, question_id, awarded in rows:
            found.setdefault(attempt_id, {})[question_id] = awarded
    return found


def _num(value: Any) -> int | float | None:
    return None if value is None else json_number(value)


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def to_xlsx(rows: Iterator[list[Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Results")
    for row in rows:
        sheet.append([escape_cell(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(rows: Iterator[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["" if cell is None else escape_csv_field(cell) for cell in row])
    return buffer.getvalue()
