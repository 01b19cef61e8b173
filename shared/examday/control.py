"""What an admin does to running (or finished) attempts on exam day: extend one attempt,
force-submit one or a whole exam (a tracked job), reopen a submitted one.

Each acts under the attempt's row lock, the lock every save and submit takes too: a save
racing a force-submit either commits first (and is graded with the rest) or finds the
attempt submitted and is refused with 409; it is never accepted and then lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, NotFound
from shared.events import hooks as webhook_events
from shared.exam_rules import expires_at
from shared.examday.timing import TimeChange, recompute
from shared.models import (
    Attempt,
    AttemptEvent,
    AttemptStatus,
    Exam,
    ExamStatus,
    Job,
    JobStatus,
    SubmitReason,
)
from shared.services import expiry, notifications

FORCE_SUBMIT = "force_submit"
FORCE_SUBMIT_BATCH = 200


def _locked(session: Session, attempt_id: uuid.UUID) -> Attempt:
    attempt = session.scalar(
        select(Attempt)
        .where(Attempt.id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if attempt is None:
        raise NotFound("attempt not found")
    return attempt


def _exam(session: Session, attempt: Attempt) -> Exam:
    exam = session.get(Exam, attempt.exam_id)
    assert exam is not None
    return exam


def extend(
    session: Session, attempt_id: uuid.UUID, extra_seconds: int, *, by: uuid.UUID, now: datetime
) -> tuple[Attempt, TimeChange]:
    """Give one running attempt more time (beyond closes_at if need be). (The caller has
    submitted it as a timeout first if its time was up: that needs a reopen.)"""
    attempt = _locked(session, attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict(
            "this attempt is already submitted: reopen it to give more time",
            code="already_submitted",
        )
    attempt.extended_seconds += extra_seconds
    session.flush()
    change = recompute(
        session, _exam(session, attempt), now, by=by, reason="extend", attempt_id=attempt.id
    )
    session.refresh(attempt)
    return attempt, change


def force_submit(
    session: Session, attempt_id: uuid.UUID, *, by: uuid.UUID, now: datetime
) -> Attempt:
    """Submit a running attempt with its saved answers, reason `admin`. (The caller has
    submitted it as a timeout first if its time was up.)"""
    attempt = _locked(session, attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict("this attempt is already submitted", code="already_submitted")
    _submit_as_admin(session, [attempt.id], now, by=by)
    session.refresh(attempt)
    return attempt


def _submit_as_admin(
    session: Session, ids: list[uuid.UUID], now: datetime, *, by: uuid.UUID | None
) -> list[uuid.UUID]:
    claimed = list(
        session.scalars(
            update(Attempt)
            .where(Attempt.id.in_(ids), Attempt.status == AttemptStatus.IN_PROGRESS)
            .values(**expiry.submitted_values(now, SubmitReason.ADMIN))
            .returning(Attempt.id)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed:
        data = {"by": "admin", "admin_id": str(by) if by else None}
        session.execute(
            insert(AttemptEvent),
            [{"attempt_id": i, "kind": "submitted", "data": data} for i in claimed],
        )
        webhook_events.attempts_submitted(session, claimed, now, SubmitReason.ADMIN)
    return claimed


def create_force_submit(
    session: Session,
    exam_id: uuid.UUID,
    *,
    student_ids: list[uuid.UUID] | None,
    by: uuid.UUID,
) -> Job:
    """A job that submits every running attempt of the exam (or the named students')."""
    exam = session.get(Exam, exam_id)
    if exam is None:
        raise NotFound("exam not found")
    if exam.status == ExamStatus.DRAFT:
        raise Conflict("a draft exam has no attempts to submit")
    job = Job(
        id=uuid.uuid4(),
        kind=FORCE_SUBMIT,
        exam_id=exam_id,
        created_by=by,
        params={"student_ids": [str(s) for s in student_ids] if student_ids is not None else None},
        total=session.scalar(_running(exam_id, student_ids).with_only_columns(func.count())) or 0,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        raise Conflict("a force-submit of this exam is already under way") from None
    return job


def _running(exam_id: uuid.UUID, student_ids: list[uuid.UUID] | None) -> Any:
    query = select(Attempt.id).where(
        Attempt.exam_id == exam_id, Attempt.status == AttemptStatus.IN_PROGRESS
    )
    if student_ids is not None:
        query = query.where(Attempt.student_id.in_(student_ids))
    return query


def run_force_submit_batch(
    session: Session, job_id: uuid.UUID, now: datetime
) -> tuple[list[uuid.UUID], bool]:
    """Submit one batch of the job's attempts; (submitted ids, whether the job is done).
    Idempotent: a redelivered task continues with what is still running."""
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return [], True
    if job.status == JobStatus.QUEUED:
        job.status, job.started_at = JobStatus.RUNNING, now
    assert job.exam_id is not None
    named = (job.params or {}).get("student_ids")
    student_ids = [uuid.UUID(s) for s in named] if named is not None else None
    # Plain FOR UPDATE (no SKIP LOCKED): a save in flight holds its row for milliseconds;
    # waiting for it lets that save land first and be graded with the rest.
    ids = list(
        session.scalars(
            _running(job.exam_id, student_ids)
            .where(Attempt.expires_at >= now)
            .order_by(Attempt.id)
            .limit(FORCE_SUBMIT_BATCH)
            .with_for_update()
        )
    )
    submitted = _submit_as_admin(session, ids, now, by=job.created_by)
    # Those whose time ran out meanwhile are submitted as what they are: timeouts.
    overdue = list(
        session.scalars(
            _running(job.exam_id, student_ids)
            .where(Attempt.expires_at < now)
            .limit(FORCE_SUBMIT_BATCH)
            .with_for_update()
        )
    )
    timed_out = expiry.submit_overdue(session, overdue, now, by="force_submit") if overdue else []
    job.done += len(submitted) + len(timed_out)
    job.total = max(job.total, job.done)
    job.updated_at = now
    finished = len(ids) < FORCE_SUBMIT_BATCH and len(overdue) < FORCE_SUBMIT_BATCH
    if finished:
        job.status, job.finished_at = JobStatus.SUCCEEDED, now
        job.result = _result(session, job, student_ids)
    session.flush()
    return submitted + timed_out, finished


def _result(session: Session, job: Job, student_ids: list[uuid.UUID] | None) -> dict[str, Any]:
    """The job's report: how many it submitted, and named students it found no attempt of."""
    result: dict[str, Any] = {"submitted": job.done}
    if student_ids is not None:
        submitted = set(
            session.scalars(
                select(Attempt.student_id)
                .join(AttemptEvent, AttemptEvent.attempt_id == Attempt.id)
                .where(
                    Attempt.exam_id == job.exam_id,
                    Attempt.student_id.in_(student_ids),
                    AttemptEvent.kind.in_(("submitted", "expired")),
                    AttemptEvent.created_at >= (job.started_at or job.created_at),
                )
            )
        )
        result["not_running"] = sorted(str(s) for s in student_ids if s not in submitted)
    return result


def stalled_force_submits(session: Session, now: datetime, quiet_for: timedelta) -> list[uuid.UUID]:
    """Force-submit jobs whose task was lost (broker down) or whose worker died."""
    return list(
        session.scalars(
            select(Job.id).where(
                Job.kind == FORCE_SUBMIT,
                Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
                Job.updated_at < now - quiet_for,
            )
        )
    )


def reopen(
    session: Session,
    attempt_id: uuid.UUID,
    *,
    extra_seconds: int,
    reason: str,
    by: uuid.UUID,
    now: datetime,
) -> tuple[Attempt, uuid.UUID | None]:
    """Put a submitted (or graded) attempt back in progress until now + extra_seconds.
    Answers stay; the score is withdrawn until the attempt is graded again after its next
    submission (a human's grade of an answer the student does not change is kept). Returns
    the attempt and the notification to email."""
    attempt = _locked(session, attempt_id)
    exam = _exam(session, attempt)
    if exam.status != ExamStatus.PUBLISHED:
        raise Conflict("this exam is archived: its attempts can no longer be reopened")
    expiry.settle(session, attempt, now, by="request")
    if attempt.status == AttemptStatus.IN_PROGRESS:
        raise Conflict("this attempt is still in progress: extend it instead")
    other = session.scalar(
        select(Attempt.id).where(
            Attempt.exam_id == attempt.exam_id,
            Attempt.student_id == attempt.student_id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    )
    if other is not None:
        raise Conflict("this student has another attempt of this exam in progress")
    previous = {
        "status": attempt.status,
        "submit_reason": attempt.submit_reason,
        "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
        "score": str(attempt.score) if attempt.score is not None else None,
        "deadline": attempt.deadline.isoformat(),
    }
    deadline = now + timedelta(seconds=extra_seconds)
    attempt.status = AttemptStatus.IN_PROGRESS
    attempt.submit_reason = None
    attempt.submitted_at = attempt.graded_at = attempt.grade_requested_at = None
    attempt.score = None
    attempt.pending_manual = 0
    attempt.reopened_at, attempt.reopen_seconds = now, extra_seconds
    attempt.extended_seconds = 0
    attempt.reopen_count += 1
    attempt.deadline, attempt.expires_at = deadline, expires_at(exam, deadline)
    attempt.last_activity_at = now
    attempt.revision += 1
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            kind="reopened",
            data={
                "by": str(by),
                "reason": reason,
                "extra_seconds": extra_seconds,
                "new_deadline": deadline.isoformat(),
                "previous": previous,
            },
        )
    )
    session.flush()
    notification = notifications.notify(
        session,
        user_id=attempt.student_id,
        kind="attempt_reopened",
        title=f"{exam.title}: your attempt was reopened",
        body=(
            f"Your attempt is open again until {deadline:%H:%M} UTC ({reason}). "
            "Your answers are kept; any earlier result is withdrawn until you submit again."
        ),
        dedupe_key=f"reopened:{attempt.id}:{attempt.reopen_count}",
        data={"attempt_id": str(attempt.id), "exam_id": str(exam.id)},
    )
    return attempt, notification
