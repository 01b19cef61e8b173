"""An exam's results as a table: one row per attempt, one column per question (for a pool,
one column per question some attempt drew from it)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Answer, Exam, ExamQuestion, Question
from shared.question_types import json_number
from shared.services.results import percentage, roster
from shared.spreadsheets.safety import escape_cell, escape_csv_field

FIXED = (
    "attempt_id", "student_email", "student_name", "attempt_number", "status", "submit_reason",
    "started_at", "submitted_at", "graded_at", "score", "max_score", "percentage", "pending_manual",
)  # fmt: skip


def result_rows(session: Session, exam: Exam) -> Iterator[list[Any]]:
    """The header, then a row per attempt; a question's cell is its points (blank: pending,
    or a pool question this attempt did not draw)."""
    attempts, _ = roster(session, exam.id, limit=None)
    columns = _columns(session, exam, [attempt for attempt, _ in attempts])
    yield [*FIXED, *(header for header, _ in columns)]
    points = _points_by_attempt(session, [a.id for a, _ in attempts])
    for attempt, student in attempts:
        mine = points.get(attempt.id, {})
        held = set(attempt.question_order)
        yield [
            str(attempt.id), student.email, student.full_name, attempt.attempt_number,
            attempt.status, attempt.submit_reason, _time(attempt.started_at),
            _time(attempt.submitted_at), _time(attempt.graded_at), _num(attempt.score),
            _num(attempt.max_score), _num(percentage(attempt.score, attempt.max_score))
            if attempt.score is not None else None, attempt.pending_manual,
            *(_num(mine.get(qid)) if str(qid) in held else None for _, qid in columns),
        ]  # fmt: skip


def _columns(session: Session, exam: Exam, attempts: list[Any]) -> list[tuple[str, uuid.UUID]]:
    """(header, question id) in exam order: a fixed question's column "Q3 (2 pts)"; a pool
    at position 4 gets "Q4.1 [tag] prompt (1 pts)", ... for each question drawn from it."""
    entries: list[tuple[int, list[tuple[str, uuid.UUID]]]] = [
        (item.position, [(f"Q{item.position} ({_pts(item.effective_points)})", item.question_id)])
        for item in session.scalars(select(ExamQuestion).where(ExamQuestion.exam_id == exam.id))
    ]
    by_pool: dict[int, set[str]] = {}
    for attempt in attempts:
        for qid, draw in (attempt.drawn or {}).items():
            by_pool.setdefault(draw["entry"], set()).add(qid)
    ids = [uuid.UUID(qid) for drawn in by_pool.values() for qid in drawn]
    questions = {
        str(q.id): q for q in session.scalars(select(Question).where(Question.id.in_(ids)))
    }
    for pool in exam.pools:
        drawn = sorted(
            (questions[qid] for qid in by_pool.get(pool.position, ()) if qid in questions),
            key=lambda q: (q.prompt, str(q.id)),
        )
        columns = []
        for k, question in enumerate(drawn, start=1):
            points = pool.points if pool.points is not None else question.points
            prompt = " ".join(question.prompt.split())[:40]
            header = f"Q{pool.position}.{k} [{pool.tag}] {prompt} ({_pts(points)})"
            columns.append((header, question.id))
        entries.append((pool.position, columns))
    entries.sort(key=lambda entry: entry[0])
    return [column for _, columns in entries for column in columns]


def _pts(points: Any) -> str:
    return f"{json_number(points)} pts"


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
