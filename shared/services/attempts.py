"""Taking an exam: start (idempotent), autosave with `seq`, submit. The server clock is the
only clock: every function takes `now` from the caller."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.cache import Cache
from shared.errors import Conflict, NotFound, PermissionDenied
from shared.events import hooks as webhook_events
from shared.exam_rules import deadline_for, expires_at, is_open
from shared.models import (
    Answer,
    Attempt,
    AttemptEvent,
    AttemptStatus,
    Exam,
    ExamStatus,
    SubmitReason,
)
from shared.people import audiences
from shared.question_types import CHOICE_TYPES
from shared.services import expiry, fast_save, pools
from shared.services.exam_payload import exam_payload, questions_by_id
from shared.services.exams import extra_seconds_for

_shuffle = random.SystemRandom().shuffle


@dataclass(frozen=True)
class SaveOutcome:
    saved: int
    saved_at: datetime
    stale: list[str] = field(default_factory=list)


_LOOK = object()


def start_attempt(
    session: Session,
    cache: Cache,
    *,
    exam_id: uuid.UUID,
    student_id: uuid.UUID,
    now: datetime,
    in_progress: Any = _LOOK,
) -> tuple[Attempt, bool]:
    """The student's in-progress attempt (created=False) or a new one (created=True).
    `in_progress`: that attempt (or None) if the caller has just read it, under lock."""
    exam = session.get(Exam, exam_id)
    if exam is None or exam.status == ExamStatus.DRAFT:
        raise NotFound("exam not found")
    current = _in_progress(session, exam_id, student_id) if in_progress is _LOOK else in_progress
    if current is not None:  # resumed even if taken out of the audience meanwhile
        return current, False
    if not audiences.is_eligible(session, exam, student_id):
        raise PermissionDenied("this exam is not assigned to you", code="not_enrolled")
    if not is_open(exam, now):
        raise Conflict("this exam is not open now", code="exam_not_open")
    taken = session.scalar(
        select(func.count()).where(Attempt.exam_id == exam_id, Attempt.student_id == student_id)
    )
    if (taken or 0) >= exam.max_attempts:
        # Another tab's start may have committed between the look above and the count:
        # that attempt is the one to resume, not a reason to refuse.
        current = _in_progress(session, exam_id, student_id)
        if current is not None:
            return current, False
        raise Conflict("no attempts left for this exam", code="attempt_limit_reached")
    payload = exam_payload(session, cache, exam)
    deadline = deadline_for(exam, now, extra_seconds_for(session, exam_id, student_id))
    row = {
        "id": uuid.uuid4(),
        "exam_id": exam_id,
        "student_id": student_id,
        "attempt_number": (taken or 0) + 1,
        "started_at": now,
        "last_activity_at": now,
        "deadline": deadline,
        "expires_at": expires_at(exam, deadline),
        **_orders(exam, payload),
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # The unique index on in-progress attempts settles a double click or a second tab: the
    # loser's insert does nothing (after waiting for the winner to commit), then finds it.
    attempt = session.scalar(
        insert(Attempt).values(row).on_conflict_do_nothing().returning(Attempt)
    )
    if attempt is None:
        winner = _in_progress(session, exam_id, student_id)
        if winner is None:
            raise Conflict("another start of this exam got in first: try again")
        return winner, False
    session.add(AttemptEvent(attempt_id=attempt.id, kind="started", data=None))
    return attempt, True


def _in_progress(session: Session, exam_id: uuid.UUID, student_id: uuid.UUID) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(
            Attempt.exam_id == exam_id,
            Attempt.student_id == student_id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    )


def _orders(exam: Exam, payload: dict[str, Any]) -> dict[str, Any]:
    """This student's questions (pools drawn), question and option order and max score,
    fixed for the life of the attempt."""
    drawn = pools.draw(payload["entries"], pools.new_seed())
    order = drawn.order
    if exam.shuffle_questions:
        _shuffle(order)
    questions = questions_by_id(payload)
    options = None
    if exam.shuffle_options:
        options = {}
        for qid in order:
            if questions[qid]["type"] in CHOICE_TYPES:
                ids = [o["id"] for o in questions[qid]["options"]]
                _shuffle(ids)
                options[qid] = ids
    max_score = sum(
        (pools.drawn_points_of(drawn.drawn, qid) or Decimal(str(questions[qid]["points"])))
        for qid in order
    )
    return {
        "question_order": order,
        "option_order": options,
        "drawn": drawn.drawn or None,
        "draw_seed": drawn.seed,
        "max_score": Decimal(max_score),
    }


def get_attempt(
    session: Session,
    attempt_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    is_admin: bool,
    for_update: bool = False,
) -> Attempt:
    """The attempt, to its owner or an admin; anyone else gets NotFound (never a hint)."""
    query = select(Attempt).where(Attempt.id == attempt_id)
    if not is_admin:
        query = query.where(Attempt.student_id == user_id)
    if for_update:  # saves and submit of one attempt are serialized
        query = query.with_for_update().execution_options(populate_existing=True)
    attempt = session.scalar(query)
    if attempt is None:
        raise NotFound("attempt not found")
    return attempt


def save_answers(
    session: Session,
    cache: Cache,
    attempt: Attempt,
    answers: list[dict[str, Any]],
    now: datetime,
    device: dict[str, str | None] | None = None,
) -> SaveOutcome:
    """Upsert a batch in the caller's transaction; a lower `seq` than stored is ignored.
    `device` (the session id and client address) goes into the trail, for review flags."""
    _ensure_writable(attempt, now)
    rows = _validated_rows(session, cache, attempt, answers, now)
    written = _upsert(session, rows) if rows else set()
    stale = sorted(r["question_id_str"] for r in rows if r["question_id_str"] not in written)
    attempt.last_activity_at = now
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            kind="saved",
            data={
                "answers": [{"question_id": r["question_id_str"], "seq": r["seq"]} for r in rows],
                **(device or {}),
                "ignored": stale,
            },
        )
    )
    session.flush()
    return SaveOutcome(saved=len(written), saved_at=now, stale=stale)


def submit(
    session: Session,
    cache: Cache,
    attempt: Attempt,
    answers: list[dict[str, Any]] | None,
    now: datetime,
) -> Attempt:
    """Save the final batch and move to `submitted`, atomically; exactly one submit wins."""
    _ensure_writable(attempt, now)
    if answers:
        save_answers(session, cache, attempt, answers, now)
    claimed = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status == AttemptStatus.IN_PROGRESS)
        .values(**expiry.submitted_values(now, SubmitReason.STUDENT), last_activity_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise Conflict("this attempt is already submitted", code="already_submitted")
    session.add(AttemptEvent(attempt_id=attempt.id, kind="submitted", data={"by": "student"}))
    webhook_events.attempts_submitted(session, [attempt.id], now, SubmitReason.STUDENT)
    session.flush()
    session.refresh(attempt)
    return attempt


def _ensure_writable(attempt: Attempt, now: datetime) -> None:
    if attempt.status != AttemptStatus.IN_PROGRESS:
        if attempt.submit_reason == SubmitReason.TIMEOUT:
            raise Conflict("time is up: this attempt was submitted", code="deadline_passed")
        raise Conflict("this attempt is already submitted", code="already_submitted")
    if now > attempt.expires_at:
        raise Conflict("time is up for this attempt", code="deadline_passed")


def _validated_rows(
    session: Session, cache: Cache, attempt: Attempt, answers: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    exam = session.get(Exam, attempt.exam_id)
    assert exam is not None
    questions = questions_by_id(exam_payload(session, cache, exam))
    rows = fast_save.validated_rows(fast_save.shapes_of(questions, attempt.question_order), answers)
    return [
        {
            **row,
            "attempt_id": attempt.id,
            "question_id_str": str(row["question_id"]),
            "saved_at": now,
        }
        for row in rows
    ]


_UPSERTS: dict[str, Any] = {}
_GRADE_COLUMNS = (
    "points_awarded", "is_correct", "feedback", "graded_at", "graded_by", "key_version",
)  # fmt: skip


def _upsert_statement(dialect: str) -> Any:
    """INSERT .. ON CONFLICT for answers, built once per dialect (building it per save cost
    more than running it)."""
    if dialect not in _UPSERTS:
        table = Answer.__table__
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(table)
        new = statement.excluded
        _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[table.c.attempt_id, table.c.question_id],
            # A save without seq keeps the stored one: erasing it would let a stale retry
            # with an old seq through afterwards.
            # A new response drops the grade of the old one (answers carry grades only
            # after a reopening): graded again at the next submit.
            set_={
                "response": new.response,
                "seq": func.coalesce(new.seq, table.c.seq),
                "saved_at": new.saved_at,
                **dict.fromkeys(_GRADE_COLUMNS),
                "needs_manual": False,
            },
            # A stale retry never overwrites a newer answer; an equal seq is a no-op.
            where=or_(table.c.seq.is_(None), new.seq.is_(None), new.seq > table.c.seq),
        ).returning(table.c.question_id)
    return _UPSERTS[dialect]


def _upsert(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """One INSERT .. ON CONFLICT for the batch; returns the question ids actually written."""
    statement = _upsert_statement(session.get_bind().dialect.name)
    values = [{k: v for k, v in row.items() if k != "question_id_str"} for row in rows]
    return {str(qid) for qid in session.execute(statement, values).scalars()}


def saved_answers(session: Session, attempt_id: uuid.UUID) -> dict[str, Any]:
    rows = session.execute(
        select(Answer.question_id, Answer.response).where(Answer.attempt_id == attempt_id)
    )
    return {str(qid): response for qid, response in rows}


def list_for_student(
    session: Session, student_id: uuid.UUID, *, offset: int = 0, limit: int = 50
) -> tuple[list[tuple[Attempt, Exam]], int]:
    """The student's attempts, newest first, with their exams."""
    query = select(Attempt, Exam).join(Exam, Exam.id == Attempt.exam_id)
    query = query.where(Attempt.student_id == student_id)
    total = session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.student_id == student_id)
    )
    rows = session.execute(
        query.order_by(Attempt.started_at.desc(), Attempt.id).offset(offset).limit(limit)
    ).all()
    return [(attempt, exam) for attempt, exam in rows], total or 0


def events(session: Session, attempt_id: uuid.UUID) -> list[AttemptEvent]:
    return list(
        session.scalars(
            select(AttemptEvent)
            .where(AttemptEvent.attempt_id == attempt_id)
            .order_by(AttemptEvent.id)
        )
    )
