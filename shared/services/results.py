"""Reading results: a student's result, the roster, the grading queue, releasing results."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import exists, func, select, tuple_
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.exam_rules import is_open, keys_visible, results_visible
from shared.models import (
    Answer,
    Attempt,
    AttemptStatus,
    Exam,
    ExamQuestion,
    Question,
    QuestionKey,
    User,
)
from shared.services import notifications
from shared.services.attempt_views import still_saving
from shared.services.pools import drawn_points


def percentage(score: Decimal | None, max_score: Decimal) -> Decimal:
    if not max_score:
        return Decimal(0)
    return (Decimal(score or 0) * 100 / max_score).quantize(Decimal("0.01"), ROUND_HALF_UP)


def result_view(
    session: Session, attempt: Attempt, exam: Exam, now: datetime, *, is_admin: bool
) -> dict[str, Any]:
    """The graded attempt question by question. Keys and explanations only for admins, or
    once results are released with show_correct_answers and no attempt that could use them
    can still save (`exam_rules.keys_visible`). The key shown is the one each answer was
    graded with."""
    if attempt.status != AttemptStatus.GRADED:
        raise Conflict("this attempt is not graded yet", code="results_not_released")
    if not is_admin and not results_visible(exam, now):
        raise Conflict("results are not released yet", code="results_not_released")
    show_keys = is_admin or _keys_visible_to_student(session, attempt, exam, now)
    items = attempt_items(session, attempt)
    answers = {
        str(a.question_id): a
        for a in session.scalars(select(Answer).where(Answer.attempt_id == attempt.id))
    }
    graded_keys = _graded_keys(session, answers.values()) if show_keys else {}
    results = []
    for qid in attempt.question_order:
        item, answer = items.get(qid), answers.get(qid)
        if item is None:
            continue
        question, possible = item
        row: dict[str, Any] = {
            "question_id": qid,
            "response": answer.response if answer else None,
            "is_correct": answer.is_correct if answer else None,
            "points_awarded": answer.points_awarded if answer else None,
            "points_possible": possible,
            "feedback": answer.feedback if answer else None,
        }
        if show_keys:
            version = answer.key_version if answer else None
            graded = graded_keys.get((question.id, version))
            # Answers graded before key versions were kept fall back to today's key.
            row["correct_answer"] = graded.correct_answer if graded else question.correct_answer
            row["explanation"] = question.explanation
        results.append(row)
    return {
        "attempt_id": attempt.id,
        "status": attempt.status,
        "score": attempt.score,
        "max_score": attempt.max_score,
        "percentage": percentage(attempt.score, attempt.max_score),
        "graded_count": sum(1 for r in results if r["points_awarded"] is not None),
        "pending_count": attempt.pending_manual,
        "results": results,
    }


def attempt_items(session: Session, attempt: Attempt) -> dict[str, tuple[Question, Decimal]]:
    """Each question of the attempt with what it is worth there: the exam's fixed ones and
    those it drew from pools (the pool's points, or the question's own)."""
    items = {
        str(item.question_id): (item.question, item.effective_points)
        for item in session.scalars(
            select(ExamQuestion).where(ExamQuestion.exam_id == attempt.exam_id)
        )
    }
    drawn = [uuid.UUID(qid) for qid in attempt.drawn or {}]
    if drawn:
        for question in session.scalars(select(Question).where(Question.id.in_(drawn))):
            points = drawn_points(attempt, str(question.id))
            items[str(question.id)] = (question, question.points if points is None else points)
    return items


def _keys_visible_to_student(session: Session, attempt: Attempt, exam: Exam, now: datetime) -> bool:
    if not exam.show_correct_answers or not results_visible(exam, now):
        return False
    savable = still_saving(exam.id, now)
    anyone = bool(session.scalar(select(exists().where(*savable))))
    mine = [Attempt.exam_id == exam.id, Attempt.student_id == attempt.student_id]
    running = anyone and bool(session.scalar(select(exists().where(*savable, *mine))))
    taken = session.scalar(select(func.count()).where(*mine)) or 0
    can_continue = running or (taken < exam.max_attempts and is_open(exam, now))
    return keys_visible(exam, now, anyone_can_save=anyone, student_can_continue=can_continue)


def _graded_keys(session: Session, answers: Any) -> dict[tuple[uuid.UUID, int | None], QuestionKey]:
    """The key versions these answers were graded with."""
    wanted = {(a.question_id, a.key_version) for a in answers if a.key_version is not None}
    if not wanted:
        return {}
    rows = session.scalars(
        select(QuestionKey).where(
            tuple_(QuestionKey.question_id, QuestionKey.version).in_(list(wanted))
        )
    )
    return {(row.question_id, row.version): row for row in rows}


def roster(
    session: Session, exam_id: uuid.UUID, *, offset: int = 0, limit: int | None = 50
) -> tuple[list[tuple[Attempt, User]], int]:
    """Every attempt at the exam with its student, oldest first."""
    if session.get(Exam, exam_id) is None:
        raise NotFound("exam not found")
    query = (
        select(Attempt, User)
        .join(User, User.id == Attempt.student_id)
        .where(Attempt.exam_id == exam_id)
        .order_by(Attempt.started_at, Attempt.id)
        .offset(offset)
    )
    total = session.scalar(select(func.count()).where(Attempt.exam_id == exam_id)) or 0
    rows = session.execute(query.limit(limit) if limit is not None else query).all()
    return [(attempt, user) for attempt, user in rows], total


def grading_queue(
    session: Session,
    exam_id: uuid.UUID,
    *,
    question_id: uuid.UUID | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Answers waiting for a human (essays), oldest submission first."""
    if session.get(Exam, exam_id) is None:
        raise NotFound("exam not found")
    conditions = [
        Attempt.exam_id == exam_id,
        Attempt.status == AttemptStatus.GRADED,
        Answer.needs_manual,
    ]
    if question_id is not None:
        conditions.append(Answer.question_id == question_id)
    base = (
        select(Answer, Attempt, User, Question, ExamQuestion)
        .join(Attempt, Attempt.id == Answer.attempt_id)
        .join(User, User.id == Attempt.student_id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(  # none for a question drawn from a pool
            ExamQuestion,
            (ExamQuestion.exam_id == Attempt.exam_id)
            & (ExamQuestion.question_id == Answer.question_id),
        )
        .where(*conditions)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(Attempt.submitted_at, Attempt.id, ExamQuestion.position.nulls_last())
        .offset(offset)
        .limit(limit)
    ).all()
    queue = [
        {
            "attempt_id": attempt.id,
            "question_id": answer.question_id,
            "student_id": user.id,
            "student_name": user.full_name,
            "student_email": user.email,
            "prompt": question.prompt,
            "response": answer.response,
            "points_possible": item.effective_points
            if item is not None
            else _drawn_possible(attempt, question),
            "submitted_at": attempt.submitted_at,
        }
        for answer, attempt, user, question, item in rows
    ]
    return queue, total


def _drawn_possible(attempt: Attempt, question: Question) -> Decimal:
    points = drawn_points(attempt, str(question.id))
    return question.points if points is None else points


def release(session: Session, exam_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
    """Release results now (any mode); every student with a graded attempt is told once."""
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound("exam not found")
    if exam.results_released_at is None:
        exam.results_released_at = now
    session.flush()
    return notifications.release_exam(session, exam, now)
