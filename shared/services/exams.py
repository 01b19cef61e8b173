"""Exams: authoring, lifecycle (draft -> published -> archived), accommodations, and the
student's view of published exams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session, selectinload

from shared.errors import Conflict, InvalidInput, NotFound
from shared.exam_rules import results_visible
from shared.examday.timing import TimeChange, recompute
from shared.models import (
    Accommodation,
    Attempt,
    AttemptStatus,
    Exam,
    ExamPool,
    ExamQuestion,
    ExamStatus,
    Question,
    ResultsRelease,
    Role,
    User,
    utcnow,
)
from shared.people import audiences
from shared.services import pools

# Changing these recomputes the deadlines of running attempts (exam day: a fire alarm, an
# exam ended early); opens_at only decides who may still start.
TIMING_FIELDS = ("duration_seconds", "closes_at", "grace_seconds")
# Questions one attempt may hold (fixed ones and every pool's draws).
MAX_QUESTIONS = 500
# Dates an exam may carry: far from the ends of Python's calendar (years 1 and 9999), so that
# any offset, duration, extra time or grace added to them stays a date (no OverflowError).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AttemptSummary:
    """What a student sees of their own attempts at one exam."""

    attempt_count: int
    best_score: Decimal | None
    in_progress: bool
    in_progress_attempt_id: uuid.UUID | None


def create_exam(session: Session, data: dict[str, Any]) -> Exam:
    exam = Exam(**data)
    _check_rules(exam)
    session.add(exam)
    session.flush()
    return exam


def get_exam(session: Session, exam_id: uuid.UUID, *, student_id: uuid.UUID | None = None) -> Exam:
    """An exam; to a student (`student_id`) only a published one in their audience
    (anything else does not exist for them)."""
    exam = session.get(Exam, exam_id, options=[selectinload(Exam.items), selectinload(Exam.pools)])
    if exam is None:
        raise NotFound("exam not found")
    if student_id is not None and (
        exam.status != ExamStatus.PUBLISHED or not audiences.is_eligible(session, exam, student_id)
    ):
        raise NotFound("exam not found")
    return exam


def update_exam(
    session: Session,
    exam_id: uuid.UUID,
    patch: dict[str, Any],
    *,
    by: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[Exam, TimeChange]:
    """Edit an exam. A change of its timing applies at once to the attempts running now
    (their deadlines are recomputed; those whose time is now up are submitted)."""
    now = now or utcnow()
    exam = session.get(Exam, exam_id, with_for_update=True)  # one time change at a time
    if exam is None:
        raise NotFound("exam not found")
    timing_changed = [
        field for field in TIMING_FIELDS if field in patch and patch[field] != getattr(exam, field)
    ]
    for field, value in patch.items():
        setattr(exam, field, value)
    _check_rules(exam)
    exam.updated_at = now
    session.flush()
    change = TimeChange()
    if timing_changed:
        change = recompute(session, exam, now, by=by, reason="exam:" + ",".join(timing_changed))
    return exam, change


def delete_exam(session: Session, exam_id: uuid.UUID) -> None:
    exam = get_exam(session, exam_id)
    if has_attempts(session, exam_id):
        raise Conflict("students have attempts at this exam: archive it instead")
    session.delete(exam)
    session.flush()


def list_exams(
    session: Session,
    *,
    status: str | None = None,
    student_id: uuid.UUID | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Exam], int]:
    """A page of exams, newest first; with `student_id`, only those in their audience."""
    query = select(Exam)
    if status:
        query = query.where(Exam.status == status)
    if student_id is not None:
        query = query.where(audiences.eligible(student_id))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    exams = session.scalars(
        query.options(selectinload(Exam.items), selectinload(Exam.pools))
        .order_by(Exam.created_at.desc(), Exam.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(exams), total


def list_for_student(
    session: Session, student_id: uuid.UUID, *, now: datetime, offset: int = 0, limit: int = 50
) -> tuple[list[tuple[Exam, AttemptSummary]], int]:
    """Published exams of the student's audiences, each with their own attempt summary."""
    exams, total = list_exams(
        session, status=ExamStatus.PUBLISHED, student_id=student_id, offset=offset, limit=limit
    )
    summaries = attempt_summaries(session, student_id, exams, now=now)
    return [(exam, summaries[exam.id]) for exam in exams], total


def attempt_summaries(
    session: Session, student_id: uuid.UUID, exams: list[Exam], *, now: datetime
) -> dict[uuid.UUID, AttemptSummary]:
    """Two queries for a page of exams. A best score shows only once results are released."""
    exam_ids = [e.id for e in exams]
    mine = (Attempt.student_id == student_id, Attempt.exam_id.in_(exam_ids))
    counts = {
        exam_id: (count, best)
        for exam_id, count, best in session.execute(
            select(
                Attempt.exam_id,
                func.count(),
                func.max(case((Attempt.status == AttemptStatus.GRADED, Attempt.score))),
            )
            .where(*mine)
            .group_by(Attempt.exam_id)
        )
    }
    open_ids = {
        exam_id: attempt_id
        for exam_id, attempt_id in session.execute(
            select(Attempt.exam_id, Attempt.id).where(
                *mine, Attempt.status == AttemptStatus.IN_PROGRESS
            )
        )
    }
    summaries = {}
    for exam in exams:
        count, best = counts.get(exam.id, (0, None))
        summaries[exam.id] = AttemptSummary(
            attempt_count=count,
            best_score=best if results_visible(exam, now) else None,
            in_progress=exam.id in open_ids,
            in_progress_attempt_id=open_ids.get(exam.id),
        )
    return summaries


def set_questions(session: Session, exam_id: uuid.UUID, items: list[dict[str, Any]]) -> Exam:
    """Replace the ordered entries: questions (with optional per-exam points) and pools
    `{"pool": {tag, count, points?}}`, which share one order."""
    exam = get_exam(session, exam_id)
    if has_attempts(session, exam_id):
        raise Conflict("students have started this exam: its questions can no longer change")
    if exam.status == ExamStatus.PUBLISHED and not items:
        raise Conflict("a published exam needs at least one question")
    pools.check_total(items, MAX_QUESTIONS)
    ids = [item["question_id"] for item in items if "pool" not in item]
    errors: dict[str, list[str]] = pools.check_new_pools(session, items)
    if len(set(ids)) != len(ids):
        errors.setdefault("questions", []).append("a question is listed twice")
    known = set(session.scalars(select(Question.id).where(Question.id.in_(ids))))
    for index, item in enumerate(items, start=1):
        if "pool" not in item and item["question_id"] not in known:
            errors.setdefault("questions", []).append(f"item {index}: no such question")
    if errors:
        raise InvalidInput("invalid question list", errors)
    exam.items.clear()
    exam.pools.clear()
    session.flush()  # old positions go before new ones take them
    for position, item in enumerate(items, start=1):
        if "pool" in item:
            pool = item["pool"]
            exam.pools.append(
                ExamPool(
                    position=position,
                    tag=pool["tag"],
                    count=pool["count"],
                    points=pool.get("points"),
                )
            )
        else:
            exam.items.append(
                ExamQuestion(
                    question_id=item["question_id"], position=position, points=item.get("points")
                )
            )
    exam.updated_at = utcnow()
    session.flush()
    session.expire(exam, ["items", "pools"])  # pools' candidate counts are read afresh
    if exam.status == ExamStatus.PUBLISHED:
        pools.ensure_drawable(session, exam)
    return exam


def publish(session: Session, exam_id: uuid.UUID) -> Exam:
    exam = get_exam(session, exam_id)
    if exam.status == ExamStatus.ARCHIVED:
        raise Conflict("an archived exam cannot be published again")
    if not exam.items and not exam.pools:
        raise Conflict("an exam needs at least one question before it is published")
    pools.ensure_drawable(session, exam)  # 409 while a pool has fewer questions than draws
    if exam.status == ExamStatus.DRAFT:
        exam.status = ExamStatus.PUBLISHED
        exam.published_at = exam.updated_at = utcnow()
        session.flush()
    return exam


def archive(session: Session, exam_id: uuid.UUID) -> Exam:
    """Hide the exam from students (attempts and results are kept)."""
    exam = get_exam(session, exam_id)
    if exam.status != ExamStatus.ARCHIVED:
        exam.status = ExamStatus.ARCHIVED
        exam.updated_at = utcnow()
        session.flush()
    return exam


def set_accommodation(
    session: Session,
    exam_id: uuid.UUID,
    student_id: uuid.UUID,
    extra_seconds: int,
    *,
    by: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[Accommodation, TimeChange]:
    """Set one student's extra time; it applies at once to their running attempt."""
    now = now or utcnow()
    exam = get_exam(session, exam_id)
    student = session.get(User, student_id)
    if student is None or student.role != Role.STUDENT:
        raise NotFound("student not found")
    accommodation = session.get(Accommodation, (exam_id, student_id))
    if accommodation is None:
        accommodation = Accommodation(exam_id=exam_id, student_id=student_id)
        session.add(accommodation)
    accommodation.extra_seconds = extra_seconds
    accommodation.updated_at = now
    session.flush()
    change = recompute(session, exam, now, by=by, reason="accommodation", student_id=student_id)
    return accommodation, change


def list_accommodations(session: Session, exam_id: uuid.UUID) -> list[Accommodation]:
    get_exam(session, exam_id)
    return list(
        session.scalars(
            select(Accommodation)
            .where(Accommodation.exam_id == exam_id)
            .order_by(Accommodation.updated_at)
        )
    )


def extra_seconds_for(session: Session, exam_id: uuid.UUID, student_id: uuid.UUID) -> int:
    accommodation = session.get(Accommodation, (exam_id, student_id))
    return accommodation.extra_seconds if accommodation else 0


def has_attempts(session: Session, exam_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(exists().where(Attempt.exam_id == exam_id))))


def _in_range(moment: datetime) -> bool:
    try:
        return EARLIEST <= moment.astimezone(UTC) < LATEST
    except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
        return False


def _check_rules(exam: Exam) -> None:
    errors: dict[str, list[str]] = {}
    for field in ("opens_at", "closes_at"):
        moment = getattr(exam, field)
        if moment is not None and not _in_range(moment):
            errors[field] = [f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)"]
    if errors:
        raise InvalidInput("invalid exam", errors)
    if exam.opens_at and exam.closes_at and exam.closes_at <= exam.opens_at:
        errors["closes_at"] = ["must be after opens_at"]
    if exam.results_release == ResultsRelease.AFTER_CLOSE and exam.closes_at is None:
        errors["results_release"] = ["after_close needs a closes_at"]
    if errors:
        raise InvalidInput("invalid exam", errors)
