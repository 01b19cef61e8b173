"""Notifications: one per event (deduplicated), in the app and by email."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.events import hooks as webhook_events
from shared.exam_rules import results_visible
from shared.models import (
    Attempt,
    AttemptStatus,
    EmailStatus,
    Exam,
    Notification,
    ResultsRelease,
    User,
)
from shared.question_types import json_number
from shared.services.attempt_views import still_saving

MAX_EMAIL_ATTEMPTS = 8


def notify(
    session: Session,
    *,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str,
    dedupe_key: str,
    data: dict[str, Any] | None = None,
) -> uuid.UUID | None:
    """Create the notification unless this event already has one; its id if created."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    new_id = uuid.uuid4()
    statement = (
        insert(Notification.__table__)
        .values(
            id=new_id,
            user_id=user_id,
            kind=kind,
            title=title,
            body=body,
            data=data,
            dedupe_key=dedupe_key,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.__table__.c.id)
    )
    return session.execute(statement).scalar()


def notify_many(session: Session, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """`notify` for many users at once (each row: user_id, kind, title, body, dedupe_key,
    data), in a few statements; the ids of the notifications created."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    if not rows:
        return []
    # executemany: SQLAlchemy batches it into multi-row INSERTs, compiled once.
    statement = (
        insert(Notification.__table__)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.__table__.c.id)
    )
    values = [{"id": uuid.uuid4(), "data": None, **row} for row in rows]
    return [i for i in session.execute(statement, values).scalars().all() if i is not None]


def _score_text(score: Decimal | None, max_score: Decimal) -> str:
    shown = json_number(score or Decimal(0))
    return f"{shown} / {json_number(max_score)}"


def result_released(session: Session, attempt: Attempt, exam: Exam) -> uuid.UUID | None:
    pass_back_scores(session, exam, [attempt])
    return notify(session, **result_row(attempt, exam))


def pass_back_scores(session: Session, exam: Exam, attempts: list[Any]) -> None:
    """The platform's gradebook hears of a visible score in the same transaction as the
    student (an outbox row per grade column; a task posts it). `attempts`: Attempts or rows
    with id, student_id, score, max_score and pending_manual."""
    # Imported here: pylti1p3 stays off the import path of everything that notifies.
    from shared.interop.lti import grades as lti_grades
    from shared.models.base import utcnow

    lti_grades.queue(session, exam, attempts, utcnow())


def result_row(attempt: Any, exam: Exam) -> dict[str, Any]:
    """The result notification of a graded attempt (an Attempt, or a batch's row of one)."""
    pending = (
        f" {attempt.pending_manual} answer(s) still wait for a teacher."
        if attempt.pending_manual
        else ""
    )
    return {
        "user_id": attempt.student_id,
        "kind": "result_released",
        "title": f"Your result for {exam.title}",
        "body": f"You scored {_score_text(attempt.score, attempt.max_score)}.{pending}",
        # Told once per grading: a reopened attempt's new result is news again.
        "dedupe_key": f"result:{attempt.id}"
        + (f":reopened:{attempt.reopen_count}" if attempt.reopen_count else ""),
        "data": {"attempt_id": str(attempt.id), "exam_id": str(exam.id)},
    }


def score_changed(
    session: Session, attempt: Attempt, exam: Exam, old: Decimal | None, new: Decimal, event: str
) -> uuid.UUID | None:
    pass_back_scores(session, exam, [attempt])
    return notify(session, **score_changed_row(attempt, exam, old, new, event))


def score_changed_row(
    attempt: Any, exam: Exam, old: Decimal | None, new: Decimal, event: str
) -> dict[str, Any]:
    """The notification of a changed score (an Attempt, or a row with id, student_id and
    the new max_score)."""
    return {
        "user_id": attempt.student_id,
        "kind": "score_changed",
        "title": f"Your score for {exam.title} changed",
        "body": (
            f"Your score changed from {_score_text(old, attempt.max_score)} "
            f"to {_score_text(new, attempt.max_score)} after a correction."
        ),
        "dedupe_key": f"score:{attempt.id}:{event}",
        "data": {
            "attempt_id": str(attempt.id),
            "old_score": json_number(old or Decimal(0)),
            "new_score": json_number(new),
        },
    }


def on_graded(session: Session, attempt: Attempt, now: datetime) -> list[uuid.UUID]:
    """After grading: tell the student if they may see the result now."""
    exam = session.get(Exam, attempt.exam_id)
    assert exam is not None
    if not results_visible(exam, now):
        return []
    created = result_released(session, attempt, exam)
    return [created] if created else []


def on_graded_many(session: Session, graded: list[Any], now: datetime) -> list[uuid.UUID]:
    """`on_graded` for a batch (rows with an Attempt's fields): one multi-row INSERT."""
    exams = {e: session.get(Exam, e) for e in {g.exam_id for g in graded}}
    for exam in (e for e in exams.values() if e is not None):
        pass_back_scores(session, exam, [g for g in graded if g.exam_id == exam.id])
    visible = {e for e, exam in exams.items() if exam is not None and results_visible(exam, now)}
    rows = [result_row(g, exams[g.exam_id]) for g in graded if g.exam_id in visible]
    return notify_many(session, rows)


def release_exam(session: Session, exam: Exam, now: datetime) -> list[uuid.UUID]:
    """Results just became visible: tell every student with a graded attempt (once)."""
    if exam.results_notified_at is None:  # a second release is not news to a receiver
        webhook_events.results_released(session, exam, now)
    exam.results_notified_at = now
    attempts = session.scalars(
        select(Attempt).where(Attempt.exam_id == exam.id, Attempt.status == AttemptStatus.GRADED)
    )
    return [n for a in attempts if (n := result_released(session, a, exam)) is not None]


def exams_due_after_close(session: Session, now: datetime) -> list[Exam]:
    """`after_close` exams whose students were not told yet and whose results may be shown
    now: past closes_at + grace, and no attempt of the exam can still save (one given
    extra time beyond the close holds the release back)."""
    candidates = session.scalars(
        select(Exam)
        .where(
            Exam.results_release == ResultsRelease.AFTER_CLOSE,
            Exam.closes_at <= now,
            Exam.results_notified_at.is_(None),
        )
        .with_for_update(skip_locked=True)
    )
    return [
        exam
        for exam in candidates
        if results_visible(exam, now) and not _anyone_can_save(session, exam.id, now)
    ]


def _anyone_can_save(session: Session, exam_id: uuid.UUID, now: datetime) -> bool:
    return bool(session.scalar(select(exists().where(*still_saving(exam_id, now)))))


def for_user(
    session: Session, user_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[Notification], int]:
    query = select(Notification).where(Notification.user_id == user_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id).offset(offset).limit(limit)
    )
    return list(rows), total


def mark_read(
    session: Session, user_id: uuid.UUID, notification_id: uuid.UUID, now: datetime
) -> None:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = now
        session.flush()


def claim_email(
    session: Session, notification_id: uuid.UUID, now: datetime
) -> tuple[Notification, str] | None:
    """Take the email for sending; None if it was sent, is being sent, or gave up.
    A claim left behind by a crash is never retried: an email is never sent twice."""
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.email_status == EmailStatus.PENDING)
        .values(
            email_status=EmailStatus.SENDING,
            email_attempts=Notification.email_attempts + 1,
            email_claimed_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    notification = session.get(Notification, notification_id, populate_existing=True)
    assert notification is not None
    email = session.scalar(select(User.email).where(User.id == notification.user_id))
    return notification, email or ""


def give_up_interrupted(session: Session, now: datetime, older_than: timedelta) -> int:
    """Sends interrupted by a crash (claimed long ago, never finished) become `failed`, so
    an operator sees them. They are not retried: the message may have gone out."""
    return session.execute(
        update(Notification)
        .where(
            Notification.email_status == EmailStatus.SENDING,
            Notification.email_claimed_at < now - older_than,
        )
        .values(
            email_status=EmailStatus.FAILED,
            email_error="interrupted while sending: it may or may not have been delivered",
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def unsent_emails(session: Session, now: datetime, older_than: timedelta) -> list[uuid.UUID]:
    """Emails never tried though their notification is older than `older_than`: their send
    task was lost (the broker was down when it was sent)."""
    return list(
        session.scalars(
            select(Notification.id)
            .where(
                Notification.email_status == EmailStatus.PENDING,
                Notification.email_attempts == 0,
                Notification.created_at < now - older_than,
            )
            .order_by(Notification.created_at)
            .limit(1000)
        )
    )


def email_sent(session: Session, notification_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(email_status=EmailStatus.SENT, email_sent_at=now, email_error=None)
    )


def email_failed(session: Session, notification_id: uuid.UUID, error: str, *, final: bool) -> None:
    """Back to pending (to be retried), or failed for good."""
    status = EmailStatus.FAILED if final else EmailStatus.PENDING
    session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(email_status=status, email_error=error[:500])
    )
