"""Grading many submitted attempts in one transaction: claimed with conditional UPDATEs
(`FOR UPDATE SKIP LOCKED`, so graders split the waiting work), answers read in one query,
answers, totals and events written with one executemany each. The scores are those of
grading one by one (`shared.services.grading`): the same keys, the same `_compute`."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.orm import Session

from shared.events import hooks as webhook_events
from shared.models import Answer, Attempt, AttemptEvent, AttemptStatus
from shared.services import grading

log = logging.getLogger(__name__)
BATCH_SIZE = 50

_CLAIMED = (
    Attempt.id,
    Attempt.exam_id,
    Attempt.student_id,
    Attempt.question_order,
    Attempt.drawn,
    Attempt.reopen_count,
    Attempt.submitted_at,
)
_ANSWER = (
    Answer.attempt_id,
    Answer.question_id,
    Answer.response,
    Answer.points_awarded,
    Answer.is_correct,
    Answer.graded_by,
    Answer.graded_at,
    Answer.feedback,
)
_attempts = Attempt.__table__
_TOTALS = (
    update(_attempts)
    .where(_attempts.c.id == bindparam("b_id"))
    .values(
        score=bindparam("b_score"),
        max_score=bindparam("b_max_score"),
        pending_manual=bindparam("b_pending"),
        revision=_attempts.c.revision + 1,  # the status ETag changes
    )
)


@dataclass(frozen=True)
class GradedAttempt:
    """What a notification and the metrics need of a graded attempt."""

    id: uuid.UUID
    exam_id: uuid.UUID
    student_id: uuid.UUID
    reopen_count: int
    submitted_at: datetime | None
    score: Any
    max_score: Any
    pending_manual: int


@dataclass
class Batch:
    graded: list[GradedAttempt] = field(default_factory=list)
    # Claimed but not gradable (a bug, bad data): put back `submitted` for the sweep.
    failed: list[uuid.UUID] = field(default_factory=list)


def grade_waiting(
    session: Session, attempt_id: uuid.UUID | None, now: datetime, *, limit: int = BATCH_SIZE
) -> Batch:
    """Grade this attempt if it is still `submitted`, and up to `limit` in all of the
    attempts waiting longest. A second delivery finds its attempt graded: it grades only
    what else waits, or nothing."""
    rows = claim(session, attempt_id, now, limit)
    return grade_claimed(session, rows, now) if rows else Batch()


def claim(
    session: Session, attempt_id: uuid.UUID | None, now: datetime, limit: int
) -> list[Row[Any]]:
    """Mark up to `limit` submitted attempts graded (this one first); rows locked by
    another grader are skipped, they are being graded. The conditional UPDATE is the claim."""

    def claim_in(ids: Any) -> list[Row[Any]]:
        statement = (
            update(Attempt)
            .where(Attempt.id.in_(ids), Attempt.status == AttemptStatus.SUBMITTED)
            .values(status=AttemptStatus.GRADED, graded_at=now)
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        )
        return list(session.execute(statement).all())

    waiting = select(Attempt.id).where(Attempt.status == AttemptStatus.SUBMITTED)
    rows = []
    if attempt_id is not None:
        rows = claim_in(waiting.where(Attempt.id == attempt_id).with_for_update(skip_locked=True))
    if limit > len(rows):
        oldest = waiting.order_by(Attempt.submitted_at).limit(limit - len(rows))
        rows += claim_in(oldest.with_for_update(skip_locked=True))
    return rows


def grade_claimed(session: Session, rows: list[Row[Any]], now: datetime) -> Batch:
    """Score the claimed attempts and write everything in bulk; if the bulk write fails,
    each attempt is written on its own, so one bad attempt never holds back the others."""
    batch = Batch()
    answers = answers_of(session, [row.id for row in rows])
    exam_keys = {e: grading.current_keys(session, e) for e in {row.exam_id for row in rows}}
    computed = []
    for row in rows:
        try:
            keys = exam_keys[row.exam_id]
            missing = [qid for qid in row.question_order if qid not in keys]
            if missing:  # drawn questions no longer in a pool (the bank changed)
                keys = {**keys, **grading.question_keys(session, missing)}
            answer_rows, totals = grading._compute(row, keys, answers.get(row.id, {}), now)
        except Exception:
            log.exception("grading attempt %s failed", row.id)
            batch.failed.append(row.id)
            continue
        computed.append((row, answer_rows, totals, answers.get(row.id, {})))
    try:
        with session.begin_nested():
            _write(session, computed, now)
        batch.graded += [_graded(row, totals) for row, _, totals, _ in computed]
    except Exception:
        log.exception("writing a batch of %d grades failed: one by one", len(computed))
        for item in computed:
            try:
                with session.begin_nested():
                    _write(session, [item], now)
                batch.graded.append(_graded(item[0], item[2]))
            except Exception:
                log.exception("grading attempt %s failed", item[0].id)
                batch.failed.append(item[0].id)
    if batch.failed:
        session.execute(
            update(Attempt)
            .where(Attempt.id.in_(batch.failed))
            .values(status=AttemptStatus.SUBMITTED, graded_at=None)
            .execution_options(synchronize_session=False)
        )
    return batch


def answers_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[uuid.UUID, Any]]:
    """The saved answers of these attempts, by attempt and question: one query."""
    found: dict[uuid.UUID, dict[uuid.UUID, Any]] = {i: {} for i in ids}
    for answer in session.execute(select(*_ANSWER).where(Answer.attempt_id.in_(ids))):
        found[answer.attempt_id][answer.question_id] = answer
    return found


def _write(session: Session, computed: list[tuple[Any, ...]], now: datetime) -> None:
    write_grades(session, computed, now)
    events = [
        {"attempt_id": row.id, "kind": "graded", "data": grading._event(totals)}
        for row, _, totals, _ in computed
    ]
    if events:
        session.execute(insert(AttemptEvent), events)
    # In the batch's savepoint: a batch written one by one publishes each attempt once.
    webhook_events.attempts_graded(session, [_graded(r, t) for r, _, t, _ in computed], now)


def write_grades(session: Session, computed: list[tuple[Any, ...]], now: datetime) -> None:
    """Answers and totals of many attempts, each `(attempt row, answer rows, Totals, saved
    answers)` as `grading._compute` and `answers_of` give them: one executemany each."""
    existing, missing, totals = [], [], []
    for row, answer_rows, total, saved in computed:
        for answer in answer_rows:
            (existing if answer["question_id"] in saved else missing).append(answer)
        totals.append(
            {"b_id": row.id, "b_score": total.score, "b_max_score": total.max_score,
             "b_pending": total.pending_manual}
        )  # fmt: skip
    if existing:
        session.execute(update(Answer), existing)
    if missing:  # unanswered questions get a row too, so results list every question
        session.execute(insert(Answer), [{**r, "response": None, "saved_at": now} for r in missing])
    if totals:
        session.execute(_TOTALS, totals)


def _graded(row: Row[Any], totals: grading.Totals) -> GradedAttempt:
    return GradedAttempt(
        id=row.id,
        exam_id=row.exam_id,
        student_id=row.student_id,
        reopen_count=row.reopen_count,
        submitted_at=row.submitted_at,
        score=totals.score,
        max_score=totals.max_score,
        pending_manual=totals.pending_manual,
    )
