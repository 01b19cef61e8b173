"""What every student of an exam receives at start: its questions without keys.

Built once per exam version and cached (10,000 students starting at 10:00 must not rebuild
it 10,000 times). The key includes the exam's `updated_at`, which every change to the exam
or to one of its questions bumps, so a cached payload is never stale.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, selectinload

from shared.cache import Cache, get_or_build
from shared.models import Exam, ExamQuestion
from shared.question_types import json_number

PAYLOAD_TTL_SECONDS = 300


def exam_payload(session: Session, cache: Cache, exam: Exam) -> dict[str, Any]:
    """{"questions": [{id, type, prompt, options, points}], "max_score"} in exam order."""
    key = f"exam-payload:{exam.id}:{exam.updated_at.timestamp()}"
    return get_or_build(cache, key, lambda: _build(session, exam), PAYLOAD_TTL_SECONDS)  # type: ignore[no-any-return]


def _build(session: Session, exam: Exam) -> dict[str, Any]:
    items = (
        session.query(ExamQuestion)
        .options(selectinload(ExamQuestion.question))
        .filter(ExamQuestion.exam_id == exam.id)
        .order_by(ExamQuestion.position)
        .all()
    )
    questions = [
        {
            "id": str(item.question_id),
            "type": item.question.type,
            "prompt": item.question.prompt,
            "options": item.question.options,
            "points": json_number(item.effective_points),
        }
        for item in items
    ]
    return {"questions": questions, "max_score": sum(q["points"] for q in questions)}


def questions_by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in payload["questions"]}
