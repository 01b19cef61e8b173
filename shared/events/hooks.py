"""The events the exam domain publishes, each built where its change happens: these
functions are called from the services, in the transaction of the change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.events import outbox
from shared.events.models import EventType
from shared.models.attempt import Attempt


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def attempts_submitted(
    session: Session, attempt_ids: Sequence[uuid.UUID], now: datetime, reason: str
) -> None:
    """`attempt.submitted` for each of these attempts (a student's submit, a timeout, an
    admin's); a single cached check and nothing else when no endpoint wants it."""
    if not attempt_ids or not outbox.has_subscribers(session, EventType.ATTEMPT_SUBMITTED):
        return
    rows = session.execute(
        select(Attempt.id, Attempt.exam_id, Attempt.student_id, Attempt.attempt_number).where(
            Attempt.id.in_(list(attempt_ids))
        )
    ).all()
    datas = [
        {
            "attempt_id": str(row.id), "exam_id": str(row.exam_id),
            "student_id": str(row.student_id), "attempt_number": row.attempt_number,
            "submitted_at": _iso(now), "reason": reason,
        }
        for row in rows
    ]  # fmt: skip
    outbox.publish_many(session, EventType.ATTEMPT_SUBMITTED, datas, now)


def attempts_graded(session: Session, graded: Iterable[Any], now: datetime) -> None:
    """`attempt.graded` for graded attempts (Attempts, or a batch's rows with id, exam_id,
    student_id, score, max_score, pending_manual)."""
    graded = list(graded)
    if not graded or not outbox.has_subscribers(session, EventType.ATTEMPT_GRADED):
        return
    datas = [
        {
            "attempt_id": str(g.id), "exam_id": str(g.exam_id),
            "student_id": str(g.student_id), "score": _number(g.score),
            "max_score": _number(g.max_score), "pending_manual": g.pending_manual,
            "graded_at": _iso(now),
        }
        for g in graded
    ]  # fmt: skip
    outbox.publish_many(session, EventType.ATTEMPT_GRADED, datas, now)


def results_released(session: Session, exam: Any, now: datetime) -> None:
    """`results.released`: an exam's results became visible to its students."""
    data = {"exam_id": str(exam.id), "title": exam.title, "released_at": _iso(now)}
    outbox.publish_many(session, EventType.RESULTS_RELEASED, [data], now)


def regrade_finished(session: Session | None, job: Any, now: datetime) -> None:
    """`regrade.finished`: a regrade job is done (succeeded, or failed for every attempt)."""
    if session is None:
        return
    data = {
        "job_id": str(job.id), "kind": job.kind, "exam_id": str(job.exam_id),
        "status": job.status, "dry_run": job.dry_run, "total": job.total, "done": job.done,
        "failed": job.failed, "changed": job.changed, "finished_at": _iso(now),
    }  # fmt: skip
    outbox.publish_many(session, EventType.REGRADE_FINISHED, [data], now)
