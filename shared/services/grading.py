"""Grading attempts with the pure graders: automatic grading after submit, regrading with
a fixed set of keys, and grading essays by hand. Each writes answers and totals in the
caller's transaction."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from shared.errors import Conflict, InvalidInput, NotFound
from shared.events import hooks as webhook_events
from shared.grading import grade
from shared.models import (
    Answer,
    Attempt,
    AttemptEvent,
    AttemptStatus,
    Exam,
    ExamQuestion,
    Question,
)
from shared.question_types import ESSAY, json_number
from shared.services import notifications, pools
from shared.services.pools import drawn_points


@dataclass(frozen=True)
class Totals:
    score: Decimal
    max_score: Decimal
    pending_manual: int
    # Questions whose grade a human gave and the grading kept.
    kept_manual: tuple[str, ...] = ()


@dataclass(frozen=True)
class Regraded:
    old: Decimal | None
    new: Decimal
    kept_manual: tuple[str, ...]


_KEYS_CACHE: OrderedDict[tuple[uuid.UUID, datetime], dict[str, dict[str, Any]]] = OrderedDict()
_KEYS_LOCK = threading.Lock()
KEYS_CACHED = 32


def current_keys(session: Session, exam_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """`exam_keys`, cached per exam version: every change to the exam or to one of its
    questions moves the exam's updated_at, so a cached set of keys is never stale. Grading
    10,000 submissions of one exam reads its keys once per process, not 10,000 times."""
    version = (exam_id, session.scalar(select(Exam.updated_at).where(Exam.id == exam_id)))
    with _KEYS_LOCK:
        keys = _KEYS_CACHE.get(version)
        if keys is not None:
            _KEYS_CACHE.move_to_end(version)
            return keys
    keys = exam_keys(session, exam_id)
    with _KEYS_LOCK:
        _KEYS_CACHE[version] = keys
        while len(_KEYS_CACHE) > KEYS_CACHED:
            _KEYS_CACHE.popitem(last=False)
    return keys


def exam_keys(
    session: Session, exam_id: uuid.UUID, *, drawn: bool = False
) -> dict[str, dict[str, Any]]:
    """The current key of every question of the exam, JSON-safe (a regrade stores it): the
    fixed questions (with the exam's points), every pool candidate (its own points; an
    attempt's drawn points override them) and, with `drawn`, every question an attempt of
    the exam was graded on, even one that left its pool since."""
    items = session.scalars(
        select(ExamQuestion)
        .options(selectinload(ExamQuestion.question))
        .where(ExamQuestion.exam_id == exam_id)
    )
    keys = {str(item.question_id): _key(item.question, item.effective_points) for item in items}
    exam = session.get(Exam, exam_id)
    if exam is not None:
        for found in pools.candidates(session, exam).values():
            keys.update({str(q.id): _key(q, q.points) for q in found if str(q.id) not in keys})
    if drawn:
        answered = select(Answer.question_id).join(Attempt, Attempt.id == Answer.attempt_id)
        answered = answered.where(Attempt.exam_id == exam_id).distinct()
        missing = [qid for qid in session.scalars(answered) if str(qid) not in keys]
        keys.update(question_keys(session, missing))
    return keys


def question_keys(session: Session, ids: list[Any]) -> dict[str, dict[str, Any]]:
    """Keys of these questions with their own points (questions drawn from a pool)."""
    if not ids:
        return {}
    wanted = [uuid.UUID(str(i)) for i in ids]
    found = session.scalars(select(Question).where(Question.id.in_(wanted)))
    return {str(q.id): _key(q, q.points) for q in found}


def _key(q: Question, points: Decimal) -> dict[str, Any]:
    return {
        "type": q.type,
        "correct_answer": q.correct_answer,
        "scoring": q.scoring,
        "tolerance": None if q.tolerance is None else str(q.tolerance),
        "case_sensitive": q.case_sensitive,
        "points": str(points),
        "version": q.version,
    }


def keys_for(session: Session, attempt: Attempt) -> dict[str, dict[str, Any]]:
    """The current keys of the attempt's questions: the exam's (cached), and those of
    questions it drew that are no longer in a pool (rare: the bank changed after the draw)."""
    keys = current_keys(session, attempt.exam_id)
    missing = [qid for qid in attempt.question_order if qid not in keys]
    return {**keys, **question_keys(session, missing)} if missing else keys


def possible_points(attempt: Attempt, qid: str, key: dict[str, Any]) -> Decimal:
    """What the question is worth in this attempt: a pool's points if it drew it with
    some, else the key's (the fixed entry's points, or the question's own)."""
    drawn = drawn_points(attempt, qid)
    return drawn if drawn is not None else Decimal(key["points"])


def grade_submitted(session: Session, attempt_id: uuid.UUID, now: datetime) -> Attempt | None:
    """Grade a submitted attempt; None if it isn't `submitted` (a second delivery)."""
    claimed = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, Attempt.status == AttemptStatus.SUBMITTED)
        .values(status=AttemptStatus.GRADED, graded_at=now)
        .returning(Attempt.exam_id)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        return None
    attempt = session.get(Attempt, attempt_id, populate_existing=True)
    assert attempt is not None
    totals = apply_grades(session, attempt, keys_for(session, attempt), now)
    session.add(AttemptEvent(attempt_id=attempt_id, kind="graded", data=_event(totals)))
    webhook_events.attempts_graded(session, [attempt], now)
    return attempt


def regrade(
    session: Session, attempt_id: uuid.UUID, keys: dict[str, dict[str, Any]], now: datetime,
    *, dry_run: bool, replace_manual: bool = False,
) -> Regraded | None:  # fmt: skip
    """Old and new score of a graded attempt under `keys`; writes only if not dry_run.
    A human's grade stays unless `replace_manual`. None if the attempt isn't graded."""
    attempt = session.scalar(
        select(Attempt)
        .where(Attempt.id == attempt_id, Attempt.status == AttemptStatus.GRADED)
        .with_for_update()
    )
    if attempt is None:
        return None
    old = attempt.score
    if dry_run:
        answers = _answers(session, attempt_id)
        totals = _compute(attempt, keys, answers, now, replace_manual=replace_manual)[1]
    else:
        totals = apply_grades(session, attempt, keys, now, replace_manual=replace_manual)
    return Regraded(old=old, new=totals.score, kept_manual=totals.kept_manual)


def apply_grades(
    session: Session,
    attempt: Attempt,
    keys: dict[str, dict[str, Any]],
    now: datetime,
    *,
    replace_manual: bool = False,
) -> Totals:
    """Score every question of the attempt under `keys`, write answers and totals."""
    answers = _answers(session, attempt.id)
    rows, totals = _compute(attempt, keys, answers, now, replace_manual=replace_manual)
    existing = [r for r in rows if r["question_id"] in answers]
    missing = [r for r in rows if r["question_id"] not in answers]
    if existing:
        session.execute(update(Answer), existing)
    if missing:  # unanswered questions get a row too, so results list every question
        session.execute(insert(Answer), [{**r, "response": None, "saved_at": now} for r in missing])
    _set_totals(session, attempt, totals)
    return totals


def _answers(session: Session, attempt_id: uuid.UUID) -> dict[uuid.UUID, Answer]:
    rows = session.scalars(select(Answer).where(Answer.attempt_id == attempt_id))
    return {answer.question_id: answer for answer in rows}


def _compute(
    attempt: Attempt,
    keys: dict[str, dict[str, Any]],
    answers: dict[uuid.UUID, Answer],
    now: datetime,
    *,
    replace_manual: bool = False,
) -> tuple[list[dict[str, Any]], Totals]:
    rows, score, max_score, pending, kept = [], Decimal(0), Decimal(0), 0, []
    for qid in attempt.question_order:
        key = keys.get(qid)
        if key is None:
            continue
        points = possible_points(attempt, qid, key)
        max_score += points
        answer = answers.get(uuid.UUID(qid))
        by_hand = answer is not None and answer.graded_by is not None
        if by_hand and (not replace_manual or key["type"] == ESSAY):
            # A human's grade stays: an essay's always (no rule can grade it), an override
            # of an automatic grade unless the regrade was asked to replace it.
            awarded, correct, manual = answer.points_awarded, answer.is_correct, False
            graded_by, graded_at, feedback = answer.graded_by, answer.graded_at, answer.feedback
            kept.append(qid)
        else:
            result = grade(key, answer.response if answer else None, points)
            awarded, correct, manual = result.points, result.is_correct, result.needs_manual
            graded_by, graded_at, feedback = None, (now if not manual else None), None
        score += awarded or 0
        pending += int(manual)
        rows.append({
            "attempt_id": attempt.id, "question_id": uuid.UUID(qid), "points_awarded": awarded,
            "is_correct": correct, "needs_manual": manual, "key_version": key["version"],
            "graded_at": graded_at, "graded_by": graded_by, "feedback": feedback,
        })  # fmt: skip
    totals = Totals(score, max_score, pending, kept_manual=tuple(kept))
    return rows, totals


def _set_totals(session: Session, attempt: Attempt, totals: Totals) -> None:
    attempt.score = totals.score
    attempt.max_score = totals.max_score
    attempt.pending_manual = totals.pending_manual
    attempt.revision += 1  # the status ETag changes
    session.flush()


def _event(totals: Totals) -> dict[str, Any]:
    return {
        "score": json_number(totals.score),
        "max_score": json_number(totals.max_score),
        "pending_manual": totals.pending_manual,
    }


def grade_by_hand(
    session: Session,
    attempt_id: uuid.UUID,
    question_id: uuid.UUID,
    *,
    points: Decimal,
    feedback: str | None,
    grader_id: uuid.UUID,
    now: datetime,
) -> Attempt:
    """An admin's grade for one answer (typically an essay); totals update at once."""
    attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
    if attempt is None:
        raise NotFound("attempt not found")
    if attempt.status != AttemptStatus.GRADED:
        raise Conflict("the attempt is not graded yet: wait for automatic grading")
    answer = session.get(Answer, (attempt_id, question_id))
    keys = keys_for(session, attempt)
    if answer is None or str(question_id) not in keys:
        raise NotFound("this attempt has no such question")
    possible = possible_points(attempt, str(question_id), keys[str(question_id)])
    if not Decimal(0) <= points <= possible:
        raise InvalidInput("points out of range", {"points": [f"must be between 0 and {possible}"]})
    answer.points_awarded = points
    answer.is_correct = points == possible
    answer.needs_manual = False
    answer.feedback = feedback
    answer.graded_by = grader_id
    answer.graded_at = now
    session.flush()
    totals = _recount(session, attempt)
    _set_totals(session, attempt, totals)
    session.add(
        AttemptEvent(
            attempt_id=attempt_id,
            kind="graded_by_hand",
            data={"question_id": str(question_id), "points": json_number(points), **_event(totals)},
        )
    )
    # A receiver's copy of the score (often an essay's pending one) follows the teacher's grade.
    webhook_events.attempts_graded(session, [attempt], now)
    exam = session.get(Exam, attempt.exam_id)
    if exam is not None:  # a released score (often the essay that kept it pending) moved
        notifications.pass_back_scores(session, exam, [attempt])
    return attempt


def _recount(session: Session, attempt: Attempt) -> Totals:
    answers = _answers(session, attempt.id).values()
    score = sum((a.points_awarded or Decimal(0) for a in answers), Decimal(0))
    pending = sum(1 for a in answers if a.needs_manual)
    return Totals(score=score, max_score=attempt.max_score, pending_manual=pending)


def claim_ungraded(
    session: Session, now: datetime, *, older_than_seconds: int, limit: int = 1000
) -> list[uuid.UUID]:
    """Submitted attempts whose grading was asked for long ago (the message was lost, the
    broker was down, a worker died): mark them asked again now and return them to re-send."""
    stale = (
        select(Attempt.id)
        .where(
            Attempt.status == AttemptStatus.SUBMITTED,
            Attempt.grade_requested_at < now - timedelta(seconds=older_than_seconds),
        )
        .order_by(Attempt.grade_requested_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(stale))
    if ids:
        session.execute(
            update(Attempt)
            .where(Attempt.id.in_(ids))
            .values(grade_requested_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids
