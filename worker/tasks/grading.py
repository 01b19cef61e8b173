"""Grading tasks: grade an attempt and what else waits (idempotent), re-send what was never
graded."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.db import transaction
from shared.messaging import TaskName, enqueue
from shared.models import utcnow
from shared.services import batch_grading, grading, notifications
from worker import metrics
from worker.app import app, settings

DATABASE_ERRORS = (OperationalError, PoolTimeout)


@app.task(
    name=TaskName.GRADE_ATTEMPT,
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=30,
    soft_time_limit=50,
    time_limit=60,
)
def grade_attempt(attempt_id: str) -> str:
    """Grade this attempt and whatever else waits (up to a batch), in one transaction; a
    second delivery finds its attempt graded and grades only what else still waits."""
    now, wanted = utcnow(), uuid.UUID(attempt_id)
    with transaction(settings) as session:
        batch = batch_grading.grade_waiting(session, wanted, now)
        emails = notifications.on_graded_many(session, batch.graded, now)
    for graded in batch.graded:  # committed: this delivery graded them
        if graded.submitted_at is not None:
            metrics.observe_grading_latency((now - graded.submitted_at).total_seconds())
    for notification_id in emails:
        enqueue(app, TaskName.SEND_EMAIL, [str(notification_id)])
    if wanted in batch.failed:  # left `submitted`: the sweep sends it again
        raise GradingFailed(f"attempt {attempt_id} could not be graded (see the log)")
    return f"graded {len(batch.graded)}"


class GradingFailed(RuntimeError):
    """An attempt whose grading raised; the others of its batch were graded."""


@app.task(name=TaskName.RESEND_UNGRADED, autoretry_for=DATABASE_ERRORS, max_retries=3)
def resend_ungraded() -> int:
    """Safety net: re-send grading for attempts left `submitted` for too long."""
    with transaction(settings) as session:
        ids = grading.claim_ungraded(
            session, utcnow(), older_than_seconds=settings.GRADING_RESEND_AFTER_SECONDS
        )
    for attempt_id in ids:
        enqueue(app, TaskName.GRADE_ATTEMPT, [str(attempt_id)])
    return len(ids)
