"""Grading tasks: grade one attempt (idempotent), and re-send what was never graded."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.db import transaction
from shared.messaging import TaskName, enqueue
from shared.models import utcnow
from shared.services import grading, notifications
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
    """Grade a submitted attempt; a second delivery finds it graded and does nothing."""
    now = utcnow()
    with transaction(settings) as session:
        attempt = grading.grade_submitted(session, uuid.UUID(attempt_id), now)
        emails = notifications.on_graded(session, attempt, now) if attempt else []
        submitted_at = attempt.submitted_at if attempt else None
    if submitted_at is not None:  # committed: this delivery graded it
        metrics.observe_grading_latency((now - submitted_at).total_seconds())
    for notification_id in emails:
        enqueue(app, TaskName.SEND_EMAIL, [str(notification_id)])
    return "graded" if attempt else "not submitted (already graded?)"


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
