"""What every student of an exam receives at start: its questions without keys.

Built once per exam version and cached (10,000 students starting at 10:00 must not rebuild
it 10,000 times). The key includes the exam's `updated_at`, which every change to the exam
or to one of its questions bumps (also to a question that gains or loses a tag one of its
pools draws from), so a cached payload is never stale.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, selectinload

from shared.cache import Cache, get_or_build
from shared.models import Exam, ExamQuestion, Question
from shared.question_types import json_number
from shared.services import pools

PAYLOAD_TTL_SECONDS = 300


def exam_payload(session: Session, cache: Cache, exam: Exam) -> dict[str, Any]:
    """{"questions": [{id, type, prompt, options, points}], "entries", "max_score"}.

    `questions`: the fixed questions in exam order, then every pool candidate (with its own
    points); `entries`: the exam order, `{"question_id"}` or `{"pool": {position, tag,
    count, points, candidates}}`, what a start draws from; `max_score`: the fixed questions'.
    """
    key = f"exam-payload:{exam.id}:{exam.updated_at.timestamp()}:v2"  # v2: with pools
    return get_or_build(cache, key, lambda: _build(session, exam), PAYLOAD_TTL_SECONDS)  # type: ignore[no-any-return]


def _build(session: Session, exam: Exam) -> dict[str, Any]:
    items = (
        session.query(ExamQuestion)
        .options(selectinload(ExamQuestion.question))
        .filter(ExamQuestion.exam_id == exam.id)
        .order_by(ExamQuestion.position)
        .all()
    )
    questions = [_shown(item.question, item.effective_points) for item in items]
    max_score = sum(q["points"] for q in questions)
    entries: list[tuple[int, dict[str, Any]]] = [
        (item.position, {"question_id": str(item.question_id)}) for item in items
    ]
    listed = {q["id"] for q in questions}
    found = pools.candidates(session, exam)
    for pool in exam.pools:
        ids = []
        for question in found.get(pool.position, []):
            ids.append(str(question.id))
            if str(question.id) not in listed:
                listed.add(str(question.id))
                questions.append(_shown(question, question.points))
        points = None if pool.points is None else str(pool.points)
        entries.append(
            (
                pool.position,
                {
                    "pool": {
                        "position": pool.position, "tag": pool.tag, "count": pool.count,
                        "points": points, "candidates": ids,
                    }
                },
            )
        )  # fmt: skip
    entries.sort(key=lambda entry: entry[0])
    return {
        "questions": questions,
        "entries": [entry for _, entry in entries],
        "max_score": max_score,
    }


def _shown(question: Question, points: Any) -> dict[str, Any]:
    """A question as a student sees it: never its key or explanation."""
    return {
        "id": str(question.id),
        "type": question.type,
        "prompt": question.prompt,
        "options": question.options,
        "points": json_number(points),
    }


def questions_by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in payload["questions"]}
